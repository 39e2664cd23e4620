"""LightningDataModules: one file per dataset family."""

from cgan.data.base import ConditionalImageDataModule, InMemoryImages
from cgan.data.mnist import MNISTDataModule

__all__ = ["ConditionalImageDataModule", "InMemoryImages", "MNISTDataModule"]
