"""The divergence guard: what a NaN/Inf loss does to the run (``model.guard.on_nan``).

stop: one clear error, the checkpoints saved before untouched; skip_batch: no update from that batch,
counted; ignore: no check and no host sync. A NaN/Inf in G's output reaches D's loss through D(fake), so
checking the losses covers it. Under DDP every rank decides alike (one sum over ranks per check), or the
ranks would hang waiting for one another.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import torch

from cgan.errors import TrainingDiverged
from cgan.model.options import GuardOptions

log = logging.getLogger(__name__)


class DivergenceGuard:
    def __init__(self, options: GuardOptions):
        self.options = options
        self.skipped_batches = 0  # batches dropped under skip_batch

    def skip(self, name: str, loss: torch.Tensor, batches: int, where: str,
             sum_over_ranks: Callable[[torch.Tensor], torch.Tensor]) -> bool:
        """True when this batch must be skipped; raises under on_nan=stop. ``batches``: batches trained before
        this one; ``where``: the step, for the message. One host sync per check."""
        policy, interval = self.options.on_nan, self.options.check_interval
        if policy == "ignore":
            return False
        if interval > 1 and (batches + 1) % interval:
            return False  # checked every `interval` batches; checkpoints are still never written from NaN weights
        not_finite = (~torch.isfinite(loss.detach())).float()
        if not bool(sum_over_ranks(not_finite)):
            return False
        what = f"{name} is {loss.item()}" + (" on this rank" if bool(not_finite) else " on another rank")
        if policy == "skip_batch":
            self.skipped_batches += 1
            log.warning("Skipping batch %s: %s", where, what)
            return True
        raise TrainingDiverged(
            f"training diverged at {where}: {what}; checkpoints saved before are untouched. Lower "
            "model.optimizer.lr, set model.optimizer.gradient_clip_val, or set model.guard.on_nan=skip_batch to "
            "skip such batches")

    def check_weights(self, parameters: Iterable[torch.Tensor], global_step: int) -> None:
        """Before a checkpoint is written: a step with a finite loss can still leave NaN weights (an Inf
        gradient), which must never overwrite a good checkpoint."""
        if self.options.on_nan != "ignore" and not all(torch.isfinite(p).all() for p in parameters):
            raise TrainingDiverged(
                f"training diverged at global step {global_step}: the weights hold NaN/Inf values, so no checkpoint "
                "was written and the earlier ones are untouched. Lower model.optimizer.lr or set "
                "model.optimizer.gradient_clip_val")
