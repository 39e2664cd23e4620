"""An exported ONNX generator behind the page, on onnxruntime alone (what a user would deploy).

``cgan-export format=onnx`` writes inputs ``noise`` and ``labels``, output ``images``, and the class
names, latent size and image shape as JSON in the model's metadata."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cgan.app.backend import Backend
from cgan.errors import UserError


def open_onnx(path: Path) -> Backend:
    try:
        import onnxruntime as ort
    except ModuleNotFoundError as err:
        raise UserError(f"an ONNX generator needs onnxruntime ({err}); pip install -e '.[export]'") from None
    if not path.is_file():
        raise UserError(f"ONNX file not found: {path}; write one with cgan-export ckpt_path=<run>/checkpoints/"
                        "last.ckpt format=onnx out=generator.onnx")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        meta = {k: json.loads(v) for k, v in session.get_modelmeta().custom_metadata_map.items()}
    except Exception as err:  # onnxruntime reports a bad file in many ways
        raise UserError(f"{path} is not a readable ONNX model ({type(err).__name__}); export it again with "
                        "cgan-export format=onnx") from err
    needed = {"class_names", "latent_dim", "image_shape"}
    if not needed <= set(meta):
        raise UserError(f"{path} has no cgan metadata ({', '.join(sorted(needed - set(meta)))} missing): it was "
                        "not written by cgan-export; export the checkpoint with cgan-export format=onnx")

    def draw(noise: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return session.run(["images"], {"noise": noise.astype(np.float32), "labels": labels.astype(np.int64)})[0]

    return Backend(draw, list(meta["class_names"]), int(meta["latent_dim"]), tuple(meta["image_shape"]), str(path),
                   "ONNX (onnxruntime)")
