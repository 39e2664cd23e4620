"""DiffAugment (Zhao et al. 2020): differentiable augmentation of every image D sees.

With a few hundred images per class (the hand gestures), D memorises the real set and its
gradients stop teaching G. Augmenting real *and* fake images with the same kind of random
transformations (drawn per image), in D's step and in G's, keeps D honest without the augmentations leaking
into G's samples (G is never asked to draw augmented images, because D only ever compares
augmented with augmented). Every operation is differentiable, so G's gradient flows through.

Policy: a list of ``color`` (brightness, saturation, contrast), ``translation`` (shift by up
to 1/8 of the size, zero-padded) and ``cutout`` (a zeroed square of half the size), applied
in that order as in the paper; images are in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: Sequence[str] | str | None) -> tuple[str, ...]:
    """["color", "translation"] or "color,translation" -> ("color", "translation"); None or [] -> ()."""
    if isinstance(policy, str):
        policy = policy.split(",")
    ops = tuple(op.strip() for op in (policy or ()) if op.strip())
    unknown = [op for op in ops if op not in POLICIES]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r} in model.augment.policy={list(ops)}: use a list of "
                         f"{', '.join(POLICIES)}, e.g. model.augment.policy=[color,translation,cutout] ([] for none)")
    return ops


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One U(0, 1) per image, shaped to broadcast over (C, H, W)."""
    return torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype, generator=generator)


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    x = x + (_uniform(x, generator) - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_uniform(x, generator) * 2) + mean  # saturation (a no-op on one channel)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, generator) + 0.5) + mean  # contrast


def translation(x: torch.Tensor, ratio: float = 0.125, generator: torch.Generator | None = None) -> torch.Tensor:
    b, _, h, w = x.shape
    max_dy, max_dx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-max_dy, max_dy + 1, (b, 1, 1), device=x.device, generator=generator)
    dx = torch.randint(-max_dx, max_dx + 1, (b, 1, 1), device=x.device, generator=generator)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    # Index a 1-pixel zero border for everything shifted in from outside the image.
    rows = (rows + dy + 1).clamp(0, h + 1).expand(b, h, w)
    cols = (cols + dx + 1).clamp(0, w + 1).expand(b, h, w)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # (B, H+2, W+2, C)
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, ratio: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    b, _, h, w = x.shape
    size_h, size_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    # The square's centre may sit anywhere on the image, so it can hang over an edge.
    top = torch.randint(0, h + (1 - size_h % 2), (b, 1, 1), device=x.device, generator=generator) - size_h // 2
    left = torch.randint(0, w + (1 - size_w % 2), (b, 1, 1), device=x.device, generator=generator) - size_w // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
    return x * (~inside).unsqueeze(1).to(x.dtype)


class DiffAugment(nn.Module):
    """``DiffAugment(["color", "translation", "cutout"])(images)``; an empty policy returns images unchanged.

    Each image gets its own random draw; a ``generator`` makes the draws repeatable."""

    def __init__(self, policy: Sequence[str] | str | None = POLICIES, translation_ratio: float = 0.125,
                 cutout_ratio: float = 0.5):
        super().__init__()
        self.ops = parse_policy(policy)
        self.translation_ratio = translation_ratio
        self.cutout_ratio = cutout_ratio

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None,
                probability: torch.Tensor | None = None) -> torch.Tensor:
        """With ``probability`` (a 0-d tensor, ADA's p), each operation reaches each image with that
        probability (drawn per image and operation, no host sync); None: every image, every operation."""
        for op in self.ops:
            if op == "color":
                y = color(x, generator)
            elif op == "translation":
                y = translation(x, self.translation_ratio, generator)
            else:
                y = cutout(x, self.cutout_ratio, generator)
            if probability is not None:
                y = torch.where(_uniform(x, generator) < probability.to(x.dtype), y, x)
            x = y
        return x

    def extra_repr(self) -> str:
        return f"policy={','.join(self.ops)!r}"
