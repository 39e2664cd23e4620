"""One small interface over the two kinds of generator file a user has: a training checkpoint or an
exported ONNX file. The page draws through it and never needs to know which."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from cgan.errors import UserError

log = logging.getLogger(__name__)


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


def open_backend(path: str | Path | None, device: str = "cpu") -> Backend:
    """The generator in ``path``: ``*.onnx`` runs on onnxruntime alone, anything else is read as a
    training checkpoint. None: the newest ``outputs/**/checkpoints/last.ckpt``, as sample.py does."""
    if path is None:
        from cgan.checkpoints import newest_run_checkpoint  # imports Lightning: only for a checkpoint

        path = newest_run_checkpoint("outputs")
        log.info("No ckpt_path given: using the newest run's %s", path)
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        from cgan.app.onnx_backend import open_onnx  # onnxruntime only: a deployed page needs no torch

        return open_onnx(path)
    if path.suffix.lower() in (".pt", ".ts"):
        raise UserError(f"{path} looks like a TorchScript export; the page serves a training checkpoint (.ckpt) "
                        "or an ONNX export (cgan-export format=onnx)")
    from cgan.app.torch_backend import open_checkpoint

    return open_checkpoint(path, device)
