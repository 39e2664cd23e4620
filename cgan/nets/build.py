"""Nets from their ``_target_`` configs: what training builds and what sampling, the app and sample-time
rejection rebuild from a checkpoint's hyperparameters, without the LightningModule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from hydra.utils import instantiate


def build_generator(generator: Mapping, latent_dim: int, num_classes: int, image_shape: Sequence[int]):
    """The generator described by a ``_target_`` config; also what sampling uses to rebuild it."""
    return instantiate(generator, latent_dim=latent_dim, num_classes=num_classes, image_shape=list(image_shape))


def build_discriminator(discriminator: Mapping, num_classes: int, image_shape: Sequence[int]):
    """The discriminator described by a ``_target_`` config; also what sample-time rejection rebuilds."""
    return instantiate(discriminator, num_classes=num_classes, image_shape=list(image_shape))


def apply_speed_options(generator, discriminator, compile: bool = False, channels_last: bool = False) -> None:
    """Kernel options that change speed, not results: channels_last memory layout for conv nets, and
    torch.compile of both nets in place (state_dict keys unchanged, so checkpoints stay portable)."""
    if channels_last:
        generator.to(memory_format=torch.channels_last)
        discriminator.to(memory_format=torch.channels_last)
    if compile:
        generator.compile()
        discriminator.compile()
