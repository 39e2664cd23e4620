"""ADA (Karras et al. 2020): how often DiffAugment's operations are applied, adapted to how sure D is.

The state is two numbers on the training device (a buffer of the LightningModule, saved for resume):
the probability p with which each ``model.augment`` operation reaches an image, and the sum of
sign(D(real)) since p last moved (this rank's). No host sync.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


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
