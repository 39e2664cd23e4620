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

log = logging.getLogger(__name__)


def use_progress_bar(mode: str, stdout=None) -> bool:
    """``bar`` / ``log`` / ``auto`` (the bar only when stdout is a terminal) -> whether to draw the bar."""
    if mode not in ("auto", "bar", "log"):
        raise ValueError(f"console.progress={mode!r} is not one of auto, bar, log")
    if mode == "auto":
        stream = stdout or sys.stdout
        return bool(getattr(stream, "isatty", lambda: False)())
    return mode == "bar"


class ProgressLog(L.Callback):
    """Logs ``epoch, batch i/n, global step, images/s, losses`` at most every ``interval_s`` seconds."""

    def __init__(self, interval_s: float = 30.0):
        if interval_s <= 0:
            raise ValueError(f"console.interval_s must be positive, got {interval_s}")
        self.interval_s = interval_s
        self._last = 0.0
        self._batches_at_last = 0

    def on_train_start(self, trainer, pl_module) -> None:
        self._last = time.monotonic()
        self._batches_at_last = trainer.fit_loop.epoch_loop._batches_that_stepped

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = time.monotonic()
        if now - self._last < self.interval_s or not trainer.is_global_zero:
            return
        batches = trainer.fit_loop.epoch_loop._batches_that_stepped + 1  # advanced after this hook
        images_per_s = (batches - self._batches_at_last) * len(batch[0]) * trainer.world_size / (now - self._last)
        total = trainer.num_training_batches
        losses = " ".join(f"{k} {float(v):.3f}" for k, v in trainer.progress_bar_metrics.items())
        log.info("epoch %d  batch %d/%s  step %d  %.0f img/s  %s", trainer.current_epoch, batch_idx + 1,
                 total if total != float("inf") else "?", trainer.global_step, images_per_s, losses)
        self._last, self._batches_at_last = now, batches
