"""A trained generator and what it can be asked: "draw me a 7", the same noise as every class, a walk
between two noise vectors.

Everything here needs only a checkpoint written by training (never the dataset or the training config
files): the checkpoint's hyper_parameters carry the generator's config, latent size, image shape and
class names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cgan.checkpoints import read_checkpoint
from cgan.errors import UserError
from cgan.nets.build import build_generator


@dataclass
class TrainedGenerator:
    """A generator in eval mode with what is needed to ask it for classes by name."""

    net: nn.Module
    class_names: list[str]
    latent_dim: int
    image_shape: tuple[int, ...]
    # The filter its training images were resized with (data.interpolation); None: not resized, or a
    # checkpoint older than the key.
    interpolation: str | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def load_generator(ckpt_path: str | Path, device: str | torch.device = "cpu") -> TrainedGenerator:
    ckpt = read_checkpoint(ckpt_path)
    hp = ckpt["hyper_parameters"]
    data = hp["data"]
    net = build_generator(hp["generator"], hp["latent_dim"], data["num_classes"], data["image_shape"])
    # The EMA generator when training kept one (model.ema), else the live one.
    prefix = "generator_ema." if any(k.startswith("generator_ema.") for k in ckpt["state_dict"]) else "generator."
    state = {k[len(prefix):]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    net.load_state_dict(state)
    net.to(device).eval()
    return TrainedGenerator(net, list(data["class_names"]), hp["latent_dim"], tuple(data["image_shape"]),
                            data["interpolation"])


def resolve_labels(labels: Sequence[int | str] | None, class_names: Sequence[str]) -> list[int]:
    """Class indices from indices or names (``[3, 5]``, ``["rock", "paper"]``); None means every class."""
    if labels is None:
        return list(range(len(class_names)))
    if isinstance(labels, (str, int)):
        labels = [labels]
    known = ", ".join(class_names)
    resolved = []
    for label in labels:
        if isinstance(label, str) and label in class_names:
            resolved.append(class_names.index(label))
        elif isinstance(label, int) and not isinstance(label, bool) and 0 <= label < len(class_names):
            resolved.append(label)
        elif isinstance(label, str) and label.lstrip("-").isdigit() and 0 <= int(label) < len(class_names):
            resolved.append(int(label))
        else:
            raise UserError(f"unknown label {label!r}: this generator knows indices 0..{len(class_names) - 1} "
                            f"(names: {known})")
    if not resolved:
        raise UserError("labels is empty: ask for at least one class, e.g. labels=[0]")
    return resolved


def draw_noise(n: int, latent_dim: int, generator: torch.Generator, truncation: float | None = None) -> torch.Tensor:
    """Standard normal noise; with ``truncation=t`` every value is redrawn until |z| <= t.

    Smaller t gives less varied samples (article 000's "temperature"); whether they look better depends on
    the model: on the gesture model every hand washes out (docs/sampling.md).
    """
    z = torch.randn(n, latent_dim, generator=generator)
    if truncation is None:
        return z
    if truncation <= 0:
        raise UserError(f"truncation must be positive, got {truncation}; try truncation=1.0 or leave it unset")
    outside = z.abs() > truncation
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=generator)
        outside = z.abs() > truncation
    return z


def device_of(net: nn.Module) -> torch.device:
    """Where ``net`` runs: its parameters' device (an ONNX session behind a module has none: the CPU)."""
    first = next(net.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


@torch.no_grad()
def generate(trained: TrainedGenerator, labels: Sequence[int], n_per_label: int, seed: int = 0,
             truncation: float | None = None) -> torch.Tensor:
    """``n_per_label`` images for each label in order: shape (len(labels) * n_per_label, C, H, W), in [-1, 1]."""
    if n_per_label <= 0:
        raise UserError(f"n_per_label must be a positive integer, got {n_per_label}")
    rng = torch.Generator().manual_seed(seed)
    device = device_of(trained.net)
    z = draw_noise(len(labels) * n_per_label, trained.latent_dim, rng, truncation).to(device)
    y = torch.as_tensor(list(labels), dtype=torch.long).repeat_interleave(n_per_label).to(device)
    return trained.net(z, y).float().cpu()


@torch.no_grad()
def interpolate(trained: TrainedGenerator, labels: Sequence[int], steps: int = 10, seed: int = 0,
                truncation: float | None = None) -> torch.Tensor:
    """Walk the straight line between two noise vectors, the same two for every label (article 002).

    Returns (len(labels) * steps, C, H, W): one row of ``steps`` images per label, so a row shows one
    class morphing smoothly and a column shows the same noise drawn as each class.
    """
    if steps < 2:
        raise UserError(f"steps must be at least 2 to interpolate, got {steps}")
    rng = torch.Generator().manual_seed(seed)
    ends = draw_noise(2, trained.latent_dim, rng, truncation)
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    line = (1 - t) * ends[0] + t * ends[1]  # (steps, latent_dim)
    device = device_of(trained.net)
    z = line.repeat(len(labels), 1).to(device)
    y = torch.as_tensor(list(labels), dtype=torch.long).repeat_interleave(steps).to(device)
    return trained.net(z, y).float().cpu()
