"""LightningDataModules: one file per dataset family.

Each exposes ``num_classes``, ``image_shape`` (C, H, W) and ``class_names``
after ``setup()``; batches are (images in [-1, 1], int64 labels).
"""

from cgan.data.base import ConditionalImageDataModule, InMemoryImages
from cgan.data.build import build_datamodule
from cgan.data.folder import ImageFolderDataModule
from cgan.data.mnist import MNISTDataModule
from cgan.data.rps import RockPaperScissorsDataModule

__all__ = [
    "ConditionalImageDataModule",
    "ImageFolderDataModule",
    "InMemoryImages",
    "MNISTDataModule",
    "RockPaperScissorsDataModule",
    "build_datamodule",
]
