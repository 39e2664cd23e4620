"""ADA (Karras et al. 2020): how often DiffAugment's operations are applied, adapted to how sure D is.

The state is two numbers on the training device (a buffer of the LightningModule, saved for resume):
the probability p with which each ``model.augment`` operation reaches an image, and the sum of
sign(D(real)) since p last moved. No host sync.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def update(state: torch.Tensor, real_logits: torch.Tensor, batches: int, target: float, interval: int,
           images: int) -> None:
    """Add this batch's mean sign of D(real) to ``state[1]``; every ``interval`` batches raise p when D is
    too sure of the reals (the mean sign above ``target``), lower it otherwise, by a step that moves p
    from 0 to 1 in ``images`` images."""
    state[1] += torch.sign(real_logits.float()).mean()
    if batches % interval == 0:
        step = real_logits.shape[0] * interval / images
        state[0] = (state[0] + torch.sign(state[1] / interval - target) * step).clamp(0.0, 1.0)
        state[1] = 0.0
