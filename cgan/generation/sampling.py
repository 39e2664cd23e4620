"""``cgan-sample``: write the chosen classes of a trained generator as PNG files and one grid."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from torchvision.utils import save_image

from cgan.checkpoints import checkpoint_file, newest_run_checkpoint
from cgan.errors import UserError
from cgan.generation.generator import generate, interpolate, load_generator, resolve_labels
from cgan.generation.rejection import check_factor, generate_with_rejection, load_discriminator
from cgan.images import class_grid

log = logging.getLogger(__name__)


def write_samples(images: torch.Tensor, labels: Sequence[int], class_names: Sequence[str], n_per_label: int,
                  out_dir: Path) -> list[Path]:
    """``out_dir/grid.png`` (one row per label) and ``out_dir/<class name>/<NNNN>.png`` per image."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"out_dir={out_dir} is a file; choose a folder path for the samples")
    written = []
    next_index: dict[int, int] = {}  # a label asked for twice keeps numbering on
    for row, label in enumerate(labels):
        folder = out_dir / class_names[label]
        folder.mkdir(parents=True, exist_ok=True)
        start = next_index.get(label, 0)
        next_index[label] = start + n_per_label
        for i in range(n_per_label):
            path = folder / f"{start + i:04d}.png"
            save_image(images[row * n_per_label + i], path, normalize=True, value_range=(-1, 1))
            written.append(path)
    grid_path = out_dir / "grid.png"
    save_image(class_grid(images, n_per_label), grid_path)
    return [grid_path, *written]


MODES = ("grid", "interpolate")


def sample(ckpt_path: str | None, labels=None, n_per_label: int = 8, out_dir: str = "outputs/samples", seed: int = 0,
           truncation: float | None = None, device: str = "cpu", mode: str = "grid", steps: int = 10,
           rejection: float | None = None) -> Path:
    """Load the checkpoint (None: the newest run's last.ckpt under outputs/), generate the requested classes and write them under ``out_dir``.

    ``mode=grid``: ``n_per_label`` independent samples per label, each the best of ``rejection`` candidates
    as the checkpoint's D rates them when set (:mod:`cgan.generation.rejection`). ``mode=interpolate``:
    ``steps`` images per label along one latent line (see :func:`interpolate`).
    """
    out = Path(out_dir)
    if mode not in MODES:
        raise UserError(f"unknown mode={mode!r}: use one of {', '.join(MODES)}")
    if mode == "grid" and n_per_label <= 0:
        raise UserError(f"n_per_label must be a positive integer, got {n_per_label}")
    rejection = check_factor(rejection)
    if rejection is not None and mode != "grid":
        raise UserError("rejection picks among independent samples: use it with mode=grid, or set rejection=null")
    if ckpt_path is None:
        log.info("No ckpt_path given: taking the newest run under outputs/")
        ckpt_path = newest_run_checkpoint("outputs")
    ckpt_path = checkpoint_file(ckpt_path)  # a run dir: its best.ckpt when kept, else last.ckpt (said once)
    trained = load_generator(ckpt_path, device=device)
    label_ids = resolve_labels(labels, trained.class_names)
    if mode == "interpolate":
        images, per_row = interpolate(trained, label_ids, steps, seed=seed, truncation=truncation), steps
    elif rejection is not None:
        discriminator = load_discriminator(ckpt_path, device=device)
        images = generate_with_rejection(trained, discriminator, label_ids, n_per_label, rejection, seed=seed,
                                         truncation=truncation)
        per_row = n_per_label
    else:
        images, per_row = generate(trained, label_ids, n_per_label, seed=seed, truncation=truncation), n_per_label
    files = write_samples(images, label_ids, trained.class_names, per_row, out)
    log.info("Wrote %d images for %s and %s", len(files) - 1,
             ", ".join(trained.class_names[i] for i in label_ids), files[0])
    return out
