"""Image helpers shared by every layer: one grid row per class, images as a saved PNG holds them, and a
picture sent to every logger that shows pictures."""

from __future__ import annotations

import torch
from torchvision.utils import make_grid


def class_grid(images: torch.Tensor, n_per_class: int, padding: int = 2) -> torch.Tensor:
    """(num_classes * n_per_class, C, H, W) in [-1, 1] -> one image, one row per class, in [0, 1]."""
    return make_grid(images, nrow=n_per_class, padding=padding, normalize=True, value_range=(-1, 1))


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats -> uint8 as a saved PNG would hold them."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


def to_hwc_uint8(image: torch.Tensor):
    """(C, H, W) float in [0, 1] -> (H, W, C) uint8 numpy, as MLflow and W&B take pictures."""
    return (image.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def log_image(loggers: list, tag: str, image: torch.Tensor, step: int) -> None:
    """One picture ((C, H, W) in [0, 1]) to every logger that can show pictures. CSV cannot: the same
    grids are PNG files in the run dir."""
    from lightning.pytorch.loggers import MLFlowLogger, TensorBoardLogger, WandbLogger

    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(tag, image, global_step=step)
        elif isinstance(logger, MLFlowLogger):
            logger.experiment.log_image(logger.run_id, to_hwc_uint8(image), key=tag.replace("/", "_"), step=step)
        elif isinstance(logger, WandbLogger):
            logger.log_image(key=tag, images=[to_hwc_uint8(image)], step=step)
