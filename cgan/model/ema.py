"""The exponential moving average of G's weights that grids, metrics and sampling draw from.

Two ways to say how slowly it follows the live G: a fixed ``model.ema.decay`` per G update (ramped in as
min(decay, (1 + n) / (10 + n)) after n updates, TensorFlow's ExponentialMovingAverage with num_updates,
so early grids do not show the random initial weights), or StyleGAN2-ADA's half-life in images:
the average forgets half of what it held every ``halflife_images`` images, ramped as
min(halflife_images, rampup x images seen), so it never averages over more than the last 5% of the run.
The half-life is what stays right when the batch size changes: a fixed 0.999 at batch 32 is a
22k-image half-life, at batch 128 an 89k-image one.
"""

from __future__ import annotations

import torch
from torch import nn


def decay_by_count(decay: float, g_updates: int, warmup: bool) -> float:
    """``decay``, ramped in over the first G updates when ``warmup``."""
    return min(decay, (1 + g_updates) / (10 + g_updates)) if warmup else decay


def decay_by_halflife(batch_images: int, halflife_images: float, images_seen: int, rampup: float | None) -> float:
    """The per-update decay whose half-life is ``halflife_images`` (ramped: at most ``rampup`` x images seen)."""
    halflife = halflife_images if rampup is None else min(halflife_images, rampup * images_seen)
    return 0.5 ** (batch_images / max(halflife, 1e-8))


@torch.no_grad()
def update_average(average: nn.Module, live: nn.Module, decay: float) -> None:
    """average <- decay * average + (1 - decay) * live, for weights; BatchNorm statistics are copied."""
    torch._foreach_lerp_(list(average.parameters()), list(live.parameters()), 1.0 - decay)
    for average_buffer, buffer in zip(average.buffers(), live.buffers()):
        average_buffer.copy_(buffer)


class GeneratorAverage:
    """The policy that moves the average copy of G (``average``, kept by the LightningModule as
    ``generator_ema`` so checkpoints and sampling find it) after each G step: by a fixed decay per G update,
    or by a half-life in images."""

    def __init__(self, options, average: nn.Module):
        self.options, self.average = options, average  # options: cgan.model.options.EMAOptions

    def decay_now(self, g_updates: int, batch_images: int) -> float:
        """The decay for this G update (``g_updates`` before it; ``batch_images``: every rank's batch)."""
        o = self.options
        if o.halflife_images is None:
            return decay_by_count(o.decay, g_updates, o.warmup)
        return decay_by_halflife(batch_images, o.halflife_images, g_updates * batch_images, o.rampup)

    def update(self, live: nn.Module, g_updates: int, batch_images: int) -> None:
        update_average(self.average, live, self.decay_now(g_updates, batch_images))
