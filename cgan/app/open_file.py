"""Open the generator file a user names: a training checkpoint or an exported ONNX file."""

from __future__ import annotations

import logging
from pathlib import Path

from cgan.app.backend import Backend
from cgan.errors import UserError

log = logging.getLogger(__name__)


def open_backend(path: str | Path | None, device: str = "cpu") -> Backend:
    """The generator in ``path``: ``*.onnx`` runs on onnxruntime alone, anything else is read as a
    training checkpoint (a run dir: its best.ckpt when kept, else last.ckpt). None: the newest run under
    ``outputs/``, as sample.py does."""
    if path is None:
        from cgan.checkpoints import newest_run_checkpoint  # imports Lightning: only for a checkpoint

        log.info("No ckpt_path given: taking the newest run under outputs/")
        path = newest_run_checkpoint("outputs")
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        from cgan.app.onnx_backend import open_onnx  # onnxruntime only: a deployed page needs no torch

        return open_onnx(path)
    if path.suffix.lower() in (".pt", ".ts"):
        raise UserError(f"{path} looks like a TorchScript export; the page serves a training checkpoint (.ckpt) "
                        "or an ONNX export (cgan-export format=onnx)")
    from cgan.app.torch_backend import open_checkpoint

    return open_checkpoint(path, device)
