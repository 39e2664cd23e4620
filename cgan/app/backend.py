"""One small interface over the two kinds of generator file a user has: a training checkpoint or an
exported ONNX file. The page draws through it and never needs to know which."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Backend:
    """A generator in eval mode: ``draw(noise (B, latent_dim) float32, labels (B,) int64)`` returns
    images (B, C, H, W) as float32 in [-1, 1]."""

    draw: Callable[[np.ndarray, np.ndarray], np.ndarray]
    class_names: list[str]
    latent_dim: int
    image_shape: tuple[int, ...]
    source: str  # the file it came from
    kind: str  # "PyTorch checkpoint" or "ONNX (onnxruntime)"
