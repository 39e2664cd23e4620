"""Progress a log file can keep: one line every N seconds instead of a live bar.

Lightning's bar redraws itself with carriage returns on every batch; written to a file or pipe
(CI, ``nohup``, a SLURM log) that is one line per batch, megabytes an hour. ``console.progress=auto``
(the default) keeps the bar on a terminal and uses :class:`ProgressLog` everywhere else.
"""

from __future__ import annotations

import logging
import sys
import time

import lightning as L
from lightning.pytorch.callbacks import Timer

from cgan.checkpoints import batches_trained

log = logging.getLogger(__name__)


def use_progress_bar(mode: str, stdout=None) -> bool:
    """``bar`` / ``log`` / ``auto`` (the bar only when stdout is a terminal) -> whether to draw the bar."""
    if mode not in ("auto", "bar", "log"):
        raise ValueError(f"console.progress={mode!r} is not one of auto, bar, log")
    if mode == "auto":
        stream = stdout or sys.stdout
        return bool(getattr(stream, "isatty", lambda: False)())
    return mode == "bar"


def clock(seconds: float) -> str:
    """4:05 (minutes:seconds) or 1:04:05 (hours:minutes:seconds)."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def seconds_left(trainer, steps_per_s: float, batches_per_s: float, batch_idx: int) -> float | None:
    """Seconds until the first of the run's caps (max_time, max_steps, max_epochs) stops it, at the rates
    seen so far; None when nothing caps it."""
    left = []
    for callback in trainer.callbacks:
        if isinstance(callback, Timer) and callback.time_remaining("train") is not None:
            left.append(callback.time_remaining("train"))
    if trainer.max_steps not in (None, -1) and steps_per_s > 0:
        left.append((trainer.max_steps - trainer.global_step) / steps_per_s)
    per_epoch = trainer.num_training_batches
    if trainer.max_epochs not in (None, -1) and per_epoch != float("inf") and batches_per_s > 0:
        batches = (trainer.max_epochs - trainer.current_epoch - 1) * per_epoch + per_epoch - batch_idx - 1
        left.append(batches / batches_per_s)
    return max(0.0, min(left)) if left else None


class ProgressLog(L.Callback):
    """Logs ``epoch, batch i/n, global step, images/s, time left, losses`` at most every ``interval_s``
    seconds. The time left is to the first cap that stops the run (a time cap exactly, steps and epochs at
    the rate seen since the start)."""

    def __init__(self, interval_s: float = 30.0):
        if interval_s <= 0:
            raise ValueError(f"console.interval_s must be positive, got {interval_s}")
        self.interval_s = interval_s
        self._last = 0.0
        self._batches_at_last = 0

    def on_train_start(self, trainer, pl_module) -> None:
        self._start = self._last = time.monotonic()
        self._batches_at_start = self._batches_at_last = batches_trained(trainer)
        self._steps_at_start = trainer.global_step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = time.monotonic()
        if now - self._last < self.interval_s or not trainer.is_global_zero:
            return
        batches = batches_trained(trainer) + 1  # advanced after this hook
        images_per_s = (batches - self._batches_at_last) * len(batch[0]) * trainer.world_size / (now - self._last)
        total = trainer.num_training_batches
        losses = " ".join(f"{k} {float(v):.3f}" for k, v in trainer.progress_bar_metrics.items())
        elapsed = now - self._start
        left = seconds_left(trainer, (trainer.global_step - self._steps_at_start) / elapsed,
                            (batches - self._batches_at_start) / elapsed, batch_idx)
        left_words = f"{clock(left)} left" if left is not None else "no cap"
        log.info("epoch %d  batch %d/%s  step %d  %.0f img/s  %s  %s", trainer.current_epoch, batch_idx + 1,
                 total if total != float("inf") else "?", trainer.global_step, images_per_s, left_words, losses)
        self._last, self._batches_at_last = now, batches
