"""Callbacks: what the user sees of a run while it trains."""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_only
from torchvision.utils import save_image

from cgan.checkpoints import batches_trained
from cgan.images import class_grid, log_image
from cgan.training.loggers import log_text

log = logging.getLogger(__name__)


def parse_interval(value: str | float | timedelta | None) -> timedelta | None:
    """``"00:10:00"`` (HH:MM:SS), ``"1:00:00:00"`` (DD:HH:MM:SS, as Trainer's max_time), seconds, or None."""
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        parts = [float(p) for p in str(value).split(":")] if re.fullmatch(r"[\d.:]+", str(value)) else []
        if not 1 <= len(parts) <= 4:
            raise ValueError(f"train_time_interval={value!r} is not a duration; use HH:MM:SS, e.g. 00:10:00")
        seconds = sum(p * unit for p, unit in zip(reversed(parts), (1, 60, 3600, 86400)))
    if seconds <= 0:
        raise ValueError(f"train_time_interval={value!r} must be positive, e.g. 00:10:00 (null: off)")
    return timedelta(seconds=seconds)


class FinalStateCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint, plus two things it lacks for a GAN:

    - ``last.ckpt`` always holds the weights training ended with. Lightning writes last.ckpt at the
      end of training only if it never wrote one before, so a run that stops at max_steps between
      two periodic saves would leave a last.ckpt up to ``every_n_train_steps`` behind; sample.py and
      resuming would then silently use older weights.
    - ``train_time_interval`` *beside* ``every_n_train_steps``: last.ckpt is refreshed at least that
      often in wall-clock time, so a SIGKILL loses at most that much whatever the model's speed.
      (Lightning's own option is exclusive with the step interval and is not applied at all under
      manual optimization.)
    """

    def __init__(self, *args, train_time_interval: str | float | timedelta | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_interval = parse_interval(train_time_interval)
        self._last_save_time = time.monotonic()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self._last_save_time = time.monotonic()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        saved_before = self._last_global_step_saved
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        now = time.monotonic()
        if self._last_global_step_saved != saved_before:  # a step-based save just happened
            self._last_save_time = now
            return
        if self.time_interval is None or not self.save_last:
            return
        due = now - self._last_save_time >= self.time_interval.total_seconds()
        due = trainer.strategy.broadcast(due)  # rank 0's clock decides, so all ranks save together
        if due and not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
            self._last_save_time = now

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.save_last and trainer.global_step != self._last_global_step_saved:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        else:
            super().on_train_end(trainer, pl_module)


class ClassGridLogger(L.Callback):
    """Draws one row per class from fixed noise, at each epoch end and every N batches.

    The noise is drawn once (seeded) and kept, so successive grids show the same
    "handwriting" improving. The grid goes to every logger that shows pictures (tag
    ``samples/per_class``) and to ``<dirpath>/grid_epoch<E>_step<S>.png``.
    """

    def __init__(self, dirpath: str, n_per_class: int = 8, every_n_batches: int = 0, seed: int = 1234,
                 tag: str = "samples/per_class"):
        if n_per_class <= 0:
            raise ValueError(f"n_per_class must be positive, got {n_per_class}")
        self.dirpath = Path(dirpath)
        self.n_per_class = n_per_class
        self.every_n_batches = every_n_batches
        self.seed = seed
        self.tag = tag
        self.noise: torch.Tensor | None = None

    def _fixed_inputs(self, pl_module) -> tuple[torch.Tensor, torch.Tensor]:
        num_classes = pl_module.data.num_classes
        if self.noise is None:
            gen = torch.Generator().manual_seed(self.seed)
            self.noise = torch.randn(num_classes * self.n_per_class, pl_module.latent_dim, generator=gen)
        labels = torch.arange(num_classes).repeat_interleave(self.n_per_class)
        return self.noise.to(pl_module.device), labels.to(pl_module.device)

    @rank_zero_only
    def draw(self, trainer: L.Trainer, pl_module) -> Path:
        z, labels = self._fixed_inputs(pl_module)
        generator = pl_module.sampling_generator
        was_training = generator.training
        generator.eval()  # BatchNorm uses running stats and does not update them
        try:
            with torch.no_grad():
                images = generator(z, labels).float()
        finally:
            generator.train(was_training)
        grid = class_grid(images, self.n_per_class)
        step = batches_trained(trainer)
        log_image(trainer.loggers, self.tag, grid, step)
        self.dirpath.mkdir(parents=True, exist_ok=True)
        path = self.dirpath / f"grid_epoch{trainer.current_epoch:03d}_step{step:07d}.png"
        save_image(grid, path)
        return path

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        # batches_trained is this batch's index here (Lightning advances it after this hook).
        if self.every_n_batches > 0 and (batches_trained(trainer) + 1) % self.every_n_batches == 0:
            self.draw(trainer, pl_module)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.draw(trainer, pl_module)

    def state_dict(self) -> dict:
        return {"noise": self.noise}

    def load_state_dict(self, state_dict: dict) -> None:
        self.noise = state_dict.get("noise")


class RealDataPreview(L.Callback):
    """Look at the data first (as articles 002 and 004 do): at fit start, one row of real training
    images per class (TensorBoard image ``data/real_per_class``), the class counts (text
    ``data/class_counts``), and a warning when the largest class outnumbers the smallest by more
    than ``imbalance_ratio``."""

    def __init__(self, n_per_class: int = 8, imbalance_ratio: float = 2.0, seed: int = 0):
        self.n_per_class = n_per_class
        self.imbalance_ratio = imbalance_ratio
        self.seed = seed

    @staticmethod
    def class_counts(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
        return torch.bincount(labels, minlength=num_classes)

    @rank_zero_only
    def on_fit_start(self, trainer: L.Trainer, pl_module) -> None:
        datamodule = trainer.datamodule
        dataset = getattr(datamodule, "train_set", None)
        if dataset is None or not hasattr(dataset, "labels"):
            return
        names = datamodule.class_names
        counts = self.class_counts(dataset.labels, len(names))
        if counts.min() == 0 or counts.max() > self.imbalance_ratio * counts.min():
            log.warning("Classes are unbalanced (%s): the generator will see the rare ones less often",
                        ", ".join(f"{n}={int(c)}" for n, c in zip(names, counts)))
        rng = torch.Generator().manual_seed(self.seed)
        rows = []
        for k in range(len(names)):
            members = torch.nonzero(dataset.labels == k).flatten()
            picked = members[torch.randperm(len(members), generator=rng)[: self.n_per_class]]
            images = torch.stack([dataset[int(i)][0] for i in picked])
            if len(picked) < self.n_per_class:  # pad a short class with blank tiles to keep one row per class
                blank = torch.zeros(self.n_per_class - len(picked), *datamodule.image_shape, dtype=torch.uint8)
                images = torch.cat([images, blank])
            rows.append(images.cpu())
        grid = class_grid(torch.cat(rows).float() / 127.5 - 1, self.n_per_class)
        table = "| class | images |\n| --- | --- |\n" + "\n".join(
            f"| {k}: {n} | {int(c)} |" for k, (n, c) in enumerate(zip(names, counts)))
        log_image(trainer.loggers, "data/real_per_class", grid, 0)
        log_text(trainer.loggers, "data/class_counts", table)


class FlushLogsAfterCheckpoint(L.Callback):
    """Flush the loggers right after each checkpoint's batch has been logged.

    TensorBoard writes events from a queue; a run killed after a checkpoint could
    otherwise lose the last logged steps before it, leaving a gap in the curve
    when it resumes (steps after the checkpoint are purged on resume instead).
    """

    def __init__(self):
        self._pending = False

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        self._pending = True

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        # The checkpointed batch's scalars are logged after its on_train_batch_end, so flush here.
        if self._pending:
            self._pending = False
            for logger in trainer.loggers:
                logger.save()
