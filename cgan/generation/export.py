"""The trained generator as one file that runs without this package: TorchScript, torch.export or ONNX.

    cgan-export ckpt_path=outputs/<run> out=g.pt2                 # torch.export, the default
    cgan-export ckpt_path=outputs/<run> format=onnx out=g.onnx
    cgan-export ckpt_path=outputs/<run> format=torchscript out=g.pt

The file holds the sampling generator (the EMA copy when training kept one) in eval mode, with inputs
``noise`` (B, latent_dim) float32 and ``labels`` (B,) int64, and output ``images`` (B, C, H, W) in
[-1, 1]; any batch size B. Its metadata (``cgan.json`` in TorchScript's and torch.export's extra files,
``metadata_props`` in ONNX) holds the class names, latent size and image shape.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import torch
from torch import nn

from cgan.checkpoints import checkpoint_file
from cgan.errors import UserError
from cgan.generation.generator import TrainedGenerator, load_generator

log = logging.getLogger(__name__)

FORMATS = ("torchscript", "pt2", "onnx")
SUFFIXES = {"torchscript": ".pt", "pt2": ".pt2", "onnx": ".onnx"}
METADATA_FILE = "cgan.json"  # TorchScript's and torch.export's extra file name


class SamplingGenerator(nn.Module):
    """(noise, labels) -> images: the generator's own call, as one graph for tracing."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(noise, labels)


def metadata(trained: TrainedGenerator, ckpt_path: str | Path) -> dict:
    return {"class_names": trained.class_names, "latent_dim": trained.latent_dim,
            "image_shape": list(trained.image_shape), "inputs": ["noise", "labels"], "outputs": ["images"],
            "output_range": [-1, 1], "source_checkpoint": str(ckpt_path)}


def example_inputs(trained: TrainedGenerator, batch: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return (torch.randn(batch, trained.latent_dim, generator=gen),
            torch.arange(batch) % trained.num_classes)


def export_torchscript(trained: TrainedGenerator, out: Path, meta: dict) -> None:
    module = SamplingGenerator(trained.net.cpu()).eval()
    with torch.no_grad():
        traced = torch.jit.trace(module, example_inputs(trained), check_trace=False)
    # The batch size must not be baked in: check the trace at another one.
    with torch.no_grad():
        z, labels = example_inputs(trained, batch=5)
        if not torch.allclose(traced(z, labels), module(z, labels), atol=1e-5):
            raise RuntimeError("the TorchScript trace does not reproduce the generator at batch size 5")
    torch.jit.save(traced, str(out), _extra_files={METADATA_FILE: json.dumps(meta)})


def export_pt2(trained: TrainedGenerator, out: Path, meta: dict) -> None:
    """torch.export's program (PyTorch's successor of TorchScript): ``torch.export.load(path).module()``
    draws the same pixels as the checkpoint, at any batch size, without this package."""
    module = SamplingGenerator(trained.net.cpu()).eval()
    batch = torch.export.Dim("batch", min=1)
    with torch.no_grad():
        program = torch.export.export(module, example_inputs(trained),
                                      dynamic_shapes={"noise": {0: batch}, "labels": {0: batch}})
    torch.export.save(program, str(out), extra_files={METADATA_FILE: json.dumps(meta)})


def export_onnx(trained: TrainedGenerator, out: Path, meta: dict) -> None:
    try:
        import onnx
    except ModuleNotFoundError as err:
        raise UserError(f"format=onnx needs the onnx package ({err}); pip install -e '.[export]'") from None
    module = SamplingGenerator(trained.net.cpu()).eval()
    batch = torch.export.Dim("batch", min=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        torch.onnx.export(module, example_inputs(trained), str(path), input_names=["noise", "labels"],
                          output_names=["images"], dynamic_shapes={"noise": {0: batch}, "labels": {0: batch}},
                          dynamo=True, external_data=False)
        model = onnx.load(str(path))
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save(model, str(out))


def export(ckpt_path: str | Path, format: str = "pt2", out: str | Path | None = None) -> Path:
    """Write the checkpoint's sampling generator as ``format`` to ``out`` (default: beside the checkpoint)."""
    if format not in FORMATS:
        raise UserError(f"format={format!r} is not one of {', '.join(FORMATS)}; e.g. format=pt2")
    ckpt_path = checkpoint_file(ckpt_path)  # a run dir: its best.ckpt when kept, else last.ckpt
    trained = load_generator(ckpt_path)
    suffix = SUFFIXES[format]
    out = Path(out) if out else Path(ckpt_path).with_name(Path(ckpt_path).stem + "_generator" + suffix)
    if out.is_dir():
        raise UserError(f"out={out} is a folder; name the file to write, e.g. out={out / ('generator' + suffix)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = metadata(trained, ckpt_path)
    {"torchscript": export_torchscript, "pt2": export_pt2, "onnx": export_onnx}[format](trained, out, meta)
    log.info("Wrote %s (%s): noise (B, %d) + labels (B,) -> images (B, %s) in [-1, 1]; classes %s",
             out, format, trained.latent_dim, ", ".join(map(str, trained.image_shape)), ", ".join(trained.class_names))
    return out
