"""ADA (Karras et al. 2020): how often DiffAugment's operations are applied, adapted to how sure D is.

The state is two numbers on the training device (``augment.ada_state`` in checkpoints, for resume): the
probability p with which each ``model.augment.policy`` operation reaches an image, and the sum of
sign(D(real)) since p last moved (this rank's). No host sync.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from cgan.model.augment import DiffAugment


@torch.no_grad()
def update(state: torch.Tensor, real_logits: torch.Tensor, batches: int, target: float, interval: int,
           images: int, sum_over_ranks: Callable[[torch.Tensor], torch.Tensor] | None = None,
           world_size: int = 1) -> None:
    """Add this batch's mean sign of D(real) to ``state[1]``; every ``interval`` batches raise p when D is
    too sure of the reals (the mean sign above ``target``), lower it otherwise, by a step that moves p
    from 0 to 1 in ``images`` images.

    Under DDP the sums of all ``world_size`` ranks are added (``sum_over_ranks``, one reduce per interval,
    as StyleGAN2-ADA does), so every rank moves p alike, by the global batch's images.
    """
    state[1] += torch.sign(real_logits.float()).mean()
    if batches % interval == 0:
        total = sum_over_ranks(state[1]) if sum_over_ranks is not None else state[1]
        step = real_logits.shape[0] * world_size * interval / images
        state[0] = (state[0] + torch.sign(total / (interval * world_size) - target) * step).clamp(0.0, 1.0)
        state[1] = 0.0


class AdaptiveAugment(nn.Module):
    """Images as D sees them: DiffAugment's ``policy`` on every image, or, with ``ada_target`` set, each
    operation with ADA's probability p, which :meth:`observe` moves after each D step."""

    def __init__(self, options):  # options: cgan.model.options.AugmentOptions
        super().__init__()
        self.options = options
        self.diff_augment = DiffAugment(options.policy)
        if options.ada_target is not None:  # [p, sum of sign(D(real)) since p last moved]
            self.register_buffer("ada_state", torch.zeros(2))

    @property
    def adaptive(self) -> bool:
        return self.options.ada_target is not None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.diff_augment(images, probability=self.ada_state[0] if self.adaptive else None)

    def observe(self, statistic: torch.Tensor, batches: int,
                sum_over_ranks: Callable[[torch.Tensor], torch.Tensor] | None = None, world_size: int = 1) -> None:
        """After D's step on the ``batches``-th batch: D's certainty on the reals (its logits) moves p."""
        if self.adaptive:
            o = self.options
            update(self.ada_state, statistic, batches, o.ada_target, o.ada_interval, o.ada_images,
                   sum_over_ranks=sum_over_ranks, world_size=world_size)
