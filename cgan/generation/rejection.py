"""Discriminator rejection at sample time: draw more than asked, keep what the trained D rates most real.

After training, D still knows which of G's images give themselves away. ``generate_with_rejection`` draws
``factor`` times the images asked for of each class, scores each with D (given its class), and keeps the
best-rated ``n_per_label`` per class, in the order they were drawn. A factor of 2-4 trades some variety
(recall) for images closer to the real ones (precision): measured in docs/sampling.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from cgan.checkpoints import read_checkpoint
from cgan.errors import UserError
from cgan.generation.generator import TrainedGenerator, generate
from cgan.nets.build import build_discriminator


def load_discriminator(ckpt_path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """The checkpoint's discriminator in eval mode (the checkpoint keeps it beside G)."""
    ckpt = read_checkpoint(ckpt_path)
    hp = ckpt["hyper_parameters"]
    net = build_discriminator(hp["discriminator"], hp["data"]["num_classes"], hp["data"]["image_shape"])
    state = {k[len("discriminator."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("discriminator.")}
    net.load_state_dict(state)
    return net.to(device).eval().requires_grad_(False)


def check_factor(factor: float | None) -> float | None:
    if factor is None:
        return None
    if not isinstance(factor, (int, float)) or isinstance(factor, bool) or factor < 1:
        raise UserError(f"rejection={factor!r} must be a number >= 1 (how many times the images asked for to draw, "
                        "keeping the best-rated; e.g. rejection=2), or null for none")
    return float(factor)


@torch.no_grad()
def generate_with_rejection(trained: TrainedGenerator, discriminator: nn.Module, labels: Sequence[int],
                            n_per_label: int, factor: float, seed: int = 0, truncation: float | None = None,
                            batch_size: int = 256) -> torch.Tensor:
    """Like :func:`generate` (same shape and order), each image the best of ``factor`` candidates of its class
    as D rates them."""
    drawn = math.ceil(factor * n_per_label)
    candidates = generate(trained, labels, drawn, seed=seed, truncation=truncation)
    device = next(discriminator.parameters()).device
    y = torch.as_tensor(list(labels), dtype=torch.long).repeat_interleave(drawn)
    scores = torch.cat([discriminator(candidates[i:i + batch_size].to(device), y[i:i + batch_size].to(device)).cpu()
                        for i in range(0, len(y), batch_size)])
    kept = []
    for row in range(len(labels)):
        start = row * drawn
        best = scores[start:start + drawn].topk(n_per_label).indices.sort().values  # drawing order kept
        kept.append(candidates[start + best])
    return torch.cat(kept)
