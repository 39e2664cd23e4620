"""The Python face of the framework, for notebooks and scripts: train, load, sample, evaluate.

    import cgan
    run = cgan.train("experiment=mnist_5min", "trainer.max_steps=200")   # train.py's overrides
    g = cgan.load(run.dir)                 # a run dir, a .ckpt, or an exported .pt2 / .onnx / .pt
    g.sample("7", n=16)                    # shows itself in Jupyter; .save(folder), .images for tensors
    g.every_class(seed=3); g.walk("rock", "paper", steps=8)
    cgan.judge("data=mnist")               # the held-out classifier the scores use (cgan-judge), once
    cgan.evaluate(g, "data=mnist")         # cgan-evaluate's overrides and table

Each call composes the same conf/ tree as its command (Hydra's compose API) and calls the same library
function, so a run trained here is the run ``python train.py`` would write, in the same kind of folder.
A mistake is the command's one sentence, raised as :class:`cgan.UserError`.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf, open_dict
from PIL import Image

from cgan.checkpoints import best_or_last, checkpoint_file, newest_run_checkpoint
from cgan.config import compose
from cgan.errors import UserError
from cgan.generation import (
    TrainedGenerator,
    generate,
    generate_with_rejection,
    interpolate,
    load_discriminator,
    load_generator,
    resolve_labels,
    write_samples,
)
from cgan.generation.exported import EXPORTED_SUFFIXES, load_exported
from cgan.generation.generator import device_of
from cgan.generation.rejection import check_factor
from cgan.images import class_grid
from cgan.training import train as train_from_config
from cgan.training.interrupts import TrainingInterrupted

log = logging.getLogger(__name__)


# -- a run's folder -------------------------------------------------------------------------------------
def new_run_dir(outputs: Path = Path("outputs")) -> Path:
    """``outputs/<date>/<time>``, as train.py names a run (a suffix when two start in the same second)."""
    now = datetime.now()
    run_dir = outputs / now.strftime("%Y-%m-%d") / now.strftime("%H-%M-%S")
    n = 1
    while run_dir.exists():
        run_dir, n = outputs / now.strftime("%Y-%m-%d") / f"{now:%H-%M-%S}_{n}", n + 1
    return run_dir


@contextmanager
def logs_to(run_dir: Path) -> Iterator[None]:
    """train.py's logging without Hydra's: every line into ``<run dir>/train.log``, and the framework's
    progress on stderr when nothing else shows it (a notebook's cell output)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    to_file = logging.FileHandler(run_dir / "train.log")
    to_file.setFormatter(formatter)
    root = logging.getLogger()
    shown = not root.handlers
    added = [(root, to_file)]
    if shown:
        to_console = logging.StreamHandler(sys.stderr)
        to_console.setFormatter(logging.Formatter("%(message)s"))
        added.append((logging.getLogger("cgan"), to_console))
    old_level = root.level
    root.setLevel(min(old_level, logging.INFO) if old_level else logging.INFO)
    for logger, handler in added:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, handler in added:
            logger.removeHandler(handler)
            handler.close()
        root.setLevel(old_level)


# -- training -----------------------------------------------------------------------------------------
@dataclass
class Run:
    """A finished (or stopped) training run: its folder, checkpoints and final metrics."""

    dir: Path
    metrics: dict[str, float] = field(default_factory=dict)
    global_step: int = 0
    stopped_by: str | None = None  # "SIGINT" when Ctrl-C (a notebook's stop button) ended it early
    overrides: tuple[str, ...] = ()

    @property
    def last_checkpoint(self) -> Path | None:
        path = self.dir / "checkpoints" / "last.ckpt"
        return path if path.is_file() else None

    @property
    def best_checkpoint(self) -> Path | None:
        """The checkpoint at the lowest FID (strict, for photos), kept when the run scored itself (a classifier was there)."""
        path = self.dir / "checkpoints" / "best.ckpt"
        return path if path.is_file() else None

    @property
    def checkpoint(self) -> Path:
        """What :func:`load` takes for this run: ``best.ckpt`` when kept, else ``last.ckpt``."""
        return best_or_last(self.dir / "checkpoints")

    def load(self, device: str = "cpu") -> Generator:
        return load(self.dir, device=device)

    def __repr__(self) -> str:
        state = f"stopped by {self.stopped_by}" if self.stopped_by else "finished"
        return f"Run({str(self.dir)!r}, {state} at global step {self.global_step})"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{k}</td><td>{v:.4g}</td></tr>" for k, v in sorted(self.metrics.items()))
        return (f"<p>{self!r}<br>checkpoint: {self.checkpoint if self.last_checkpoint else 'none'}</p>"
                f"<table><tr><th>metric</th><th>final value</th></tr>{rows}</table>")


def train(*overrides: str, run_dir: str | Path | None = None) -> Run:
    """Train as ``python train.py <overrides>`` would, into ``run_dir`` (default ``outputs/<date>/<time>``).

    Ctrl-C (a notebook's stop button) saves ``last.ckpt`` at the end of the batch and returns the run,
    ``stopped_by="SIGINT"``; :func:`resume` continues it.
    """
    run_dir = Path(run_dir) if run_dir is not None else new_run_dir()
    if not any(str(o).startswith("print_config=") for o in overrides):
        overrides = ("print_config=false", *overrides)  # the config is in <run dir>/.hydra/config.yaml
    cfg = compose("train", overrides, run_dir)
    with logs_to(run_dir):
        save_run_config(run_dir, cfg, overrides)
        try:
            trained = train_from_config(cfg)
        except TrainingInterrupted as stop:
            log.warning("Stopped by %s at global step %d; saved %s; continue with cgan.resume(%r)",
                        stop.signal_name, stop.global_step, stop.ckpt_path, str(run_dir))
            return Run(run_dir, {}, stop.global_step, stop.signal_name, tuple(overrides))
    return Run(run_dir, trained.metrics, trained.trainer.global_step, None, tuple(overrides))


def save_run_config(run_dir: Path, cfg: DictConfig, overrides: Sequence[str]) -> None:
    """``<run dir>/.hydra/config.yaml`` and ``overrides.yaml``, as train.py leaves them."""
    hydra_dir = run_dir / ".hydra"
    hydra_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, hydra_dir / "config.yaml")
    OmegaConf.save(OmegaConf.create([str(o) for o in overrides]), hydra_dir / "overrides.yaml")


def resume(run_dir: str | Path, *overrides: str) -> Run:
    """Continue a stopped run in its own folder with its own overrides (and any given here: a longer
    ``trainer.max_steps``, say)."""
    run_dir = Path(run_dir)
    saved = run_dir / ".hydra" / "overrides.yaml"
    if not saved.is_file():
        raise UserError(f"{run_dir} is not a run folder (no .hydra/overrides.yaml); pass the folder a "
                        "training run wrote, e.g. cgan.resume(run.dir)")
    earlier = [o for o in OmegaConf.load(saved) if not str(o).startswith("ckpt_path=")]
    return train(*earlier, *overrides, "ckpt_path=last", run_dir=run_dir)


# -- a trained generator -------------------------------------------------------------------------------
@dataclass
class Images:
    """Generated images, one row per class asked for; shows itself as a grid in Jupyter.

    ``images``: (N, C, H, W) floats in [-1, 1]; ``labels``: each image's class index; ``class_names``
    names them; ``per_row``: images per row of the grid."""

    images: torch.Tensor
    labels: list[int]
    class_names: list[str]
    per_row: int

    def __len__(self) -> int:
        return len(self.images)

    @property
    def names(self) -> list[str]:
        """Each image's class name."""
        return [self.class_names[k] for k in self.labels]

    def grid(self) -> Image.Image:
        """One picture, one row per class (as sample.py's grid.png)."""
        pixels = class_grid(self.images, self.per_row).mul(255).round().clamp(0, 255).byte()
        array = pixels.permute(1, 2, 0).numpy()
        return Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.grid().save(buffer, format="PNG")
        return buffer.getvalue()

    def save(self, folder: str | Path) -> Path:
        """``folder/grid.png`` and ``folder/<class>/<NNNN>.png``, as sample.py writes them."""
        folder = Path(folder)
        rows = self.labels[:: self.per_row]
        write_samples(self.images, rows, self.class_names, self.per_row, folder)
        return folder

    def __repr__(self) -> str:
        shape = "x".join(map(str, self.images.shape[1:]))
        return f"Images({len(self)} of {shape}: {', '.join(dict.fromkeys(self.names))})"


class Generator:
    """A trained generator, asked for classes by name or index. Made by :func:`load`."""

    def __init__(self, trained: TrainedGenerator, source: Path, checkpoint: Path | None):
        self.trained = trained
        self.source = source  # the file it was read from
        self.checkpoint = checkpoint  # that file when it is a training checkpoint (evaluate reads it)

    @property
    def class_names(self) -> list[str]:
        return list(self.trained.class_names)

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.trained.image_shape)

    def sample(self, *labels: int | str, n: int = 8, seed: int = 0, truncation: float | None = None,
               rejection: float | None = None) -> Images:
        """``n`` images of each class asked for (none: every class), one row per class. ``rejection=k``: each
        the best of k candidates as the checkpoint's discriminator rates them (sample.py's rejection=)."""
        ids = resolve_labels(list(labels) or None, self.trained.class_names)
        if rejection is None:
            images = generate(self.trained, ids, n, seed=seed, truncation=truncation)
        else:
            if self.checkpoint is None:
                raise UserError(f"rejection needs the discriminator, which {self.source} does not hold: load the "
                                "training checkpoint (a run dir or .ckpt) instead of an exported file")
            discriminator = load_discriminator(self.checkpoint, device=device_of(self.trained.net))
            images = generate_with_rejection(self.trained, discriminator, ids, n, check_factor(rejection), seed=seed,
                                             truncation=truncation)
        return Images(images, [k for k in ids for _ in range(n)], self.class_names, n)

    def every_class(self, n: int = 8, seed: int = 0, truncation: float | None = None) -> Images:
        """``n`` images of every class; column j is the same noise drawn as each class."""
        return self.sample(n=n, seed=seed, truncation=truncation)

    def walk(self, *labels: int | str, steps: int = 8, seed: int = 0, truncation: float | None = None) -> Images:
        """For each class asked for (none: every class), a row of ``steps`` images along one straight line
        between two noise vectors, the same line for every row (article 002's latent interpolation)."""
        ids = resolve_labels(list(labels) or None, self.trained.class_names)
        images = interpolate(self.trained, ids, steps, seed=seed, truncation=truncation)
        return Images(images, [k for k in ids for _ in range(steps)], self.class_names, steps)

    def __repr__(self) -> str:
        shape = "x".join(map(str, self.image_shape))
        return f"Generator({str(self.source)!r}: {shape} images of {', '.join(self.class_names)})"


def load(source: str | Path | None = None, device: str = "cpu") -> Generator:
    """The generator in ``source``: a run dir (its ``best.ckpt`` when kept, else ``last.ckpt``), a ``.ckpt``,
    or a file cgan-export wrote (``.pt2``, ``.onnx``, ``.pt``). None: the newest run under ``outputs/``."""
    if source is None:
        source = newest_run_checkpoint("outputs")
    path = Path(source)
    if path.suffix.lower() in EXPORTED_SUFFIXES:
        return Generator(load_exported(path, device=device), path, None)
    ckpt = checkpoint_file(path)  # a run dir: says which file it took
    return Generator(load_generator(ckpt, device=device), ckpt, ckpt)


# -- the classifier and the scores ---------------------------------------------------------------------
def judge(*overrides: str) -> Path:
    """Train and check the held-out classifier the scores use, as ``cgan-judge <overrides>`` (``data=rps``);
    once per dataset. Returns its file; training then keeps ``best.ckpt`` at the lowest (strict) FID."""
    from cgan.metrics.judge_check import train_judge

    return train_judge(compose("judge", overrides))


class Scores(dict):
    """cgan-evaluate's result (a dict: ``fid``, ``precision``, ``per_class``, ...); shows itself as its table."""

    def __str__(self) -> str:
        from cgan.metrics.evaluate import format_table

        return format_table(self)

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{name}</td><td>{entry['n']}</td><td>{entry['conditional_accuracy']:.3f}</td>"
                       f"<td>{entry.get('fid', float('nan')):.2f}</td></tr>" for name, entry in self["per_class"].items())
        summary = "".join(f"<tr><td>{key}</td><td>{self[key]:.4g}</td></tr>" for key in
                          ("conditional_accuracy", "fid", "fid_floor", "kid_x1000", "precision", "recall",
                           "intra_class_fid_mean", "strict_fid", "strict_precision", "strict_recall",
                           "spectral_distance", "spectrum_top_ratio") if key in self)
        return (f"<table><tr><th>class</th><th>n</th><th>cond. acc</th><th>intra FID</th></tr>{rows}</table>"
                f"<table><tr><th>score</th><th>value</th></tr>{summary}</table>")


def evaluate(generator: Generator | str | Path, *overrides: str) -> Scores:
    """Score a generator (or a run dir / file, loaded first) against real data, as ``cgan-evaluate`` with
    ``overrides`` does (``data=rps``, ``n_per_class=200``, ...); writes the same JSON beside its source."""
    from cgan.metrics.evaluate import evaluate as evaluate_from_config

    if not isinstance(generator, Generator):
        generator = load(generator)
    cfg = compose("evaluate", overrides)
    with open_dict(cfg):
        cfg.ckpt_path = str(generator.source)
    return Scores(evaluate_from_config(cfg, trained=generator.trained))
