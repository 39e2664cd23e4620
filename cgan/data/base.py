"""What every dataset of the framework tells the model, and the in-memory fast path.

A DataModule here exposes ``num_classes``, ``image_shape`` (C, H, W) and
``class_names`` after ``setup()``; train.py hands these to the model once, so no
model config keeps its own copy of them.

Images that fit in memory are kept as one uint8 tensor and served a whole batch
at a time (one gather per batch, no per-image PIL work); the batch is turned
into float in [-1, 1] only after it reached the training device.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

log = logging.getLogger(__name__)


class InMemoryImages(Dataset):
    """uint8 images (N, C, H, W) and int64 labels (N,), indexed a batch at a time.

    ``__getitems__`` lets the DataLoader fetch a whole batch with one tensor
    index instead of N ``__getitem__`` calls plus a collate; samplers (shuffle,
    Lightning's DistributedSampler) work as usual because they still yield
    indices.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = labels.long()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.images[index], self.labels[index]

    def __getitems__(self, indices: Sequence[int]):
        index = torch.as_tensor(indices, dtype=torch.long)
        return self.images[index], self.labels[index]


def keep_batch(batch):
    """collate_fn for InMemoryImages: ``__getitems__`` already returned a batch."""
    return batch


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range of the generator's Tanh.

    Same numbers as torchvision's ToTensor() + Normalize(0.5, 0.5).
    """
    return images.float().div_(127.5).sub_(1.0)


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded train/val split of range(n): the same split on every run and every rank."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = int(round(n * val_fraction))
    return order[n_val:], order[:n_val]


class ConditionalImageDataModule(L.LightningDataModule):
    """Shared plumbing: loaders over (image, label) datasets and on-device normalisation.

    Subclasses fill ``self.train_set`` / ``self.val_set`` / ``self.test_set`` and
    the three descriptive attributes in ``setup``.
    """

    def __init__(self, batch_size: int = 64, num_workers: int = 0, pin_memory: bool = False):
        super().__init__()
        if batch_size <= 0:
            raise ValueError(f"data.batch_size must be a positive integer, got {batch_size}")
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None
        self.class_names: list[str] = []
        self.image_shape: tuple[int, int, int] = (0, 0, 0)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def _loader(self, dataset: Dataset | None, shuffle: bool, drop_last: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError("call setup() before asking for a dataloader")
        batched = isinstance(dataset, InMemoryImages)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=drop_last,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            collate_fn=keep_batch if batched else None,
        )

    def train_dataloader(self) -> DataLoader:
        # drop_last: a 1-image last batch would break BatchNorm in the nets.
        return self._loader(self.train_set, shuffle=True, drop_last=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False, drop_last=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, shuffle=False, drop_last=False)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        # Normalise on the training device: uint8 crosses the bus, 4x less than float.
        images, labels = batch
        if images.dtype == torch.uint8:
            images = to_unit_range(images)
        return images, labels
