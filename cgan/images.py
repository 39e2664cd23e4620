"""Image helpers shared by every layer: one grid row per class, and images as a saved PNG holds them."""

from __future__ import annotations

import torch
from torchvision.utils import make_grid


def class_grid(images: torch.Tensor, n_per_class: int, padding: int = 2) -> torch.Tensor:
    """(num_classes * n_per_class, C, H, W) in [-1, 1] -> one image, one row per class, in [0, 1]."""
    return make_grid(images, nrow=n_per_class, padding=padding, normalize=True, value_range=(-1, 1))


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats -> uint8 as a saved PNG would hold them."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()
