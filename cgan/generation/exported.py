"""Read back a generator that ``cgan-export`` wrote (TorchScript ``.pt``, torch.export ``.pt2``, ONNX
``.onnx``) as a :class:`TrainedGenerator`, so sampling and scoring work on it as on a checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cgan.errors import UserError
from cgan.generation.export import METADATA_FILE
from cgan.generation.generator import TrainedGenerator

EXPORTED_SUFFIXES = (".pt", ".ts", ".pt2", ".onnx")


class OnnxGenerator(nn.Module):
    """An onnxruntime session behind the (noise, labels) -> images call of a generator; runs on the CPU."""

    def __init__(self, session):
        super().__init__()
        self.session = session

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        images = self.session.run(["images"], {"noise": noise.cpu().numpy().astype(np.float32),
                                               "labels": labels.cpu().numpy().astype(np.int64)})[0]
        return torch.from_numpy(images)


def _metadata(meta: dict, path: Path) -> dict:
    needed = {"class_names", "latent_dim", "image_shape"}
    if not needed <= set(meta):
        raise UserError(f"{path} has no cgan metadata ({', '.join(sorted(needed - set(meta)))} missing): it was "
                        "not written by cgan-export; export the checkpoint again with cgan-export")
    return meta


def _open_onnx(path: Path) -> tuple[nn.Module, dict]:
    try:
        import onnxruntime as ort
    except ModuleNotFoundError as err:
        raise UserError(f"an ONNX generator needs onnxruntime ({err}); pip install -e '.[export]'") from None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    # cgan-export writes each metadata entry as JSON under its own key.
    meta = {k: json.loads(v) for k, v in session.get_modelmeta().custom_metadata_map.items()}
    return OnnxGenerator(session), _metadata(meta, path)


def load_exported(path: str | Path, device: str | torch.device = "cpu") -> TrainedGenerator:
    """The generator in an exported file; ``device`` applies to TorchScript and torch.export (ONNX runs on
    onnxruntime's CPU provider)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"exported generator not found: {path}; write one with cgan-export ckpt_path=<run dir> "
                        "format=pt2 out=generator.pt2")
    suffix = path.suffix.lower()
    try:
        if suffix == ".onnx":
            net, meta = _open_onnx(path)
        elif suffix == ".pt2":
            extra = {METADATA_FILE: ""}
            net = torch.export.load(str(path), extra_files=extra).module()
            meta = _metadata(json.loads(extra[METADATA_FILE] or "{}"), path)
        elif suffix in (".pt", ".ts"):
            extra = {METADATA_FILE: ""}
            net = torch.jit.load(str(path), map_location=device, _extra_files=extra)
            meta = _metadata(json.loads(extra[METADATA_FILE] or "{}"), path)
        else:
            raise UserError(f"{path} is not an exported generator: expected one of {', '.join(EXPORTED_SUFFIXES)}")
    except UserError:
        raise
    except Exception as err:  # each runtime reports a damaged file in its own way
        raise UserError(f"{path} is not a readable {suffix} generator ({type(err).__name__}); export it again "
                        "with cgan-export") from err
    if suffix == ".pt2":
        net = net.to(device)
    return TrainedGenerator(net, list(meta["class_names"]), int(meta["latent_dim"]), tuple(meta["image_shape"]))
