"""Values that follow the run's budget: learning rates, R1/R2 gamma and Adam's beta2.

A CPU run stopped by ``trainer.max_time`` would otherwise end at whatever rate it had, mid-oscillation.
Here each value moves from its start to its end along a shape (constant, linear, cosine) as the run
goes from 0 to 1, where "the run" is the fraction done by steps (``max_steps``), epochs
(``max_epochs``) or time (``max_time``), whichever is furthest along: the one that will end it.
Mimicry decays the rate linearly to 0; R3GAN (Huang et al. 2024) cosine-decays it 4x and gamma 10x and
raises beta2 from 0.9 to 0.99. The values are a pure function of that fraction, and the step count and
Lightning's timer are restored on resume, so a resumed run continues the same curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lightning.pytorch.callbacks import Timer

from cgan.checkpoints import batches_trained

SHAPES = ("constant", "linear", "cosine")


def along(shape: str, start: float, end: float, progress: float) -> float:
    """The value at ``progress`` (0..1, clamped) of a curve from ``start`` to ``end``."""
    t = min(max(progress, 0.0), 1.0)
    if shape == "constant":
        return start
    if shape == "linear":
        return start + (end - start) * t
    if shape == "cosine":
        return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * t))
    raise ValueError(f"model.optimizer.schedule.shape={shape!r} is not one of {', '.join(SHAPES)}")


def run_progress(trainer) -> float:
    """How far the run is to whichever of max_steps, max_epochs and max_time ends it first (0..1)."""
    done = 0.0
    if trainer.max_steps and trainer.max_steps > 0:
        done = max(done, trainer.global_step / trainer.max_steps)
    max_epochs = trainer.max_epochs
    batches = trainer.num_training_batches
    if max_epochs and max_epochs > 0 and batches and math.isfinite(batches) and batches > 0:
        done = max(done, batches_trained(trainer) / (max_epochs * batches))
    for callback in trainer.callbacks:
        if isinstance(callback, Timer) and callback._duration:
            done = max(done, callback.time_elapsed("train") / callback._duration)
    return min(done, 1.0)


@dataclass(frozen=True)
class Schedule:
    """``shape`` and where each value ends: ``lr_end`` and ``gamma_end`` as fractions of their start,
    ``beta2_start`` the Adam beta2 the run starts from (ending at the optimizer's own; None: the
    optimizer's throughout). ``constant`` keeps every value at its start."""

    shape: str = "constant"
    lr_end: float = 1.0
    gamma_end: float = 1.0
    beta2_start: float | None = None

    def __post_init__(self):
        if self.shape not in SHAPES:
            raise ValueError(f"model.optimizer.schedule.shape={self.shape!r} is not one of {', '.join(SHAPES)}")
        if self.lr_end < 0 or self.gamma_end < 0:
            raise ValueError(f"model.optimizer.schedule.lr_end and gamma_end are fractions of the start value (>= 0), got "
                             f"{self.lr_end} and {self.gamma_end}")
        if self.beta2_start is not None and not 0.0 <= self.beta2_start < 1.0:
            raise ValueError(f"model.optimizer.schedule.beta2_start must be in [0, 1) or null, got {self.beta2_start}")

    @property
    def is_constant(self) -> bool:
        """Every value stays where the optimizer and the config put it: nothing to do per batch."""
        return self.shape == "constant" and self.beta2_start is None

    def apply(self, progress: float, optimizers, start_lrs, beta2_end: float) -> dict[str, float]:
        """Set each optimizer's learning rate (from its start value) and beta2 for ``progress``; returns
        the values now, under the names they are logged with."""
        lr_factor, beta2 = self.lr_factor(progress), self.beta2(progress, beta2_end)
        for optimizer, lr in zip(optimizers, start_lrs):
            for group in optimizer.param_groups:
                group["lr"], group["betas"] = lr * lr_factor, (group["betas"][0], beta2)
        return {"train/progress": progress, "train/lr": start_lrs[0] * lr_factor, "train/beta2": beta2,
                "train/gamma_factor": self.gamma_factor(progress)}

    def factor(self, progress: float, end: float) -> float:
        return along(self.shape, 1.0, end, progress)

    def lr_factor(self, progress: float) -> float:
        return self.factor(progress, self.lr_end)

    def gamma_factor(self, progress: float) -> float:
        return self.factor(progress, self.gamma_end)

    def beta2(self, progress: float, beta2_end: float) -> float:
        if self.beta2_start is None:
            return beta2_end
        return along(self.shape, self.beta2_start, beta2_end, progress)
