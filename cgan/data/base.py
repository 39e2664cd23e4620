"""What every dataset of the framework tells the model, and the in-memory fast path.

A DataModule here exposes ``num_classes``, ``image_shape`` (C, H, W) and
``class_names`` after ``setup()``; train.py hands these to the model once, so no
model config keeps its own copy of them.

Images that fit in memory are kept as one uint8 tensor (on the training device
when ``device_resident``) and served by :class:`InMemoryBatches`: one index per
batch, no DataLoader, no per-image Python or PIL work. Batches become float in
[-1, 1] only on the training device (``on_after_batch_transfer``). Data that
does not fit goes through a regular DataLoader with workers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

log = logging.getLogger(__name__)


class InMemoryImages(Dataset):
    """uint8 images (N, C, H, W) and int64 labels (N,)."""

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

    def to(self, device: torch.device) -> InMemoryImages:
        if self.images.device == torch.device(device):
            return self
        return InMemoryImages(self.images.to(device), self.labels.to(device))


class InMemoryBatches:
    """Batches of an :class:`InMemoryImages`, gathered with one tensor index each.

    Shuffling is a seeded permutation per epoch (``seed``, epoch): the same on
    every rank and after a resume, different each epoch. Under DDP each rank
    takes every ``world_size``-th index of it (the tail that does not divide
    evenly is dropped, so all ranks run the same number of batches). ``resume``
    = (epoch, batches already trained) makes that epoch's first pass start where
    the checkpoint left off.
    """

    def __init__(self, dataset: InMemoryImages, batch_size: int, shuffle: bool, drop_last: bool, seed: int = 0,
                 rank: int = 0, world_size: int = 1, epoch_source=None, resume: tuple[int, int] | None = None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self._epoch_source = epoch_source  # e.g. the trainer's current epoch, read at the first pass
        self._next_epoch: int | None = None  # later passes count on from the first
        self._resume = resume
        self.epoch: int | None = None  # whose order the pass under way serves (what a checkpoint records)

    def _per_rank(self) -> int:
        return len(self.dataset) // self.world_size

    def __len__(self) -> int:
        n = self._per_rank()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def indices(self, epoch: int) -> torch.Tensor:
        """This rank's sample order for ``epoch``."""
        n = len(self.dataset)
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            order = torch.randperm(n, generator=gen)
        else:
            order = torch.arange(n)
        return order[: self._per_rank() * self.world_size][self.rank :: self.world_size]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        # A resumed pass finishes the saved epoch's order, whatever number the trainer gives the epoch
        # (Lightning counts an epoch stopped by max_steps or max_time as done); then the count goes on.
        skip = 0
        if self._resume is not None:
            epoch, skip = self._resume
            self._resume = None
        elif self._next_epoch is not None:
            epoch = self._next_epoch
        else:
            epoch = self._epoch_source() if self._epoch_source is not None else 0
        self.epoch = epoch
        order = self.indices(epoch).to(self.dataset.images.device)
        for b in range(skip, len(self)):
            index = order[b * self.batch_size : (b + 1) * self.batch_size]
            yield self.dataset.images[index], self.dataset.labels[index]
        self._next_epoch = epoch + 1


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
    n_val = round(n * val_fraction)
    return order[n_val:], order[:n_val]


class ConditionalImageDataModule(L.LightningDataModule):
    """Shared plumbing: batches over (uint8 image, label) datasets and on-device normalisation.

    Subclasses fill ``self.train_set`` / ``self.val_set`` / ``self.test_set`` and
    the descriptive attributes in ``setup``.
    """

    def __init__(self, batch_size: int = 64, num_workers: int = 0, pin_memory: bool = False,
                 device_resident: bool = True, shuffle_seed: int | None = 0):
        super().__init__()
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"data.batch_size must be a positive integer, got {batch_size}")
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.device_resident = device_resident
        # None (an unseeded run): a fresh order every run, still reproducible within it.
        self.shuffle_seed = shuffle_seed if shuffle_seed is not None else int(torch.seed() % 2**31)
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None
        self.class_names: list[str] = []
        self.image_shape: tuple[int, int, int] = (0, 0, 0)
        self._resume: tuple[int, int] | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def for_metrics(self) -> ConditionalImageDataModule:
        """This data as the metrics read it (set up): the same images resized with one fixed filter, whatever
        the training pipeline uses, so a softer pipeline shows in the numbers. Data that is not resized
        (MNIST) is its own."""
        return self

    def expected_classes(self) -> list[str] | None:
        """The class names this data will have, known before anything is downloaded or decoded (commands
        check a checkpoint against them first); None when only ``setup`` can tell."""
        return list(self.class_names) or None

    # -- where we are in the data, saved in checkpoints so a resumed run continues the order ----------
    def state_dict(self) -> dict:
        if self.trainer is None:
            return {}
        # Saves happen at the end of a batch: `ready` counts the batches of this epoch trained so far, of
        # the order the training batches are serving (the trainer's epoch is one ahead after a max_steps stop).
        done = self.trainer.fit_loop.epoch_loop.batch_progress.current.ready
        batches = getattr(self, "_train_batches", None)
        epoch = batches.epoch if batches is not None and batches.epoch is not None else self.trainer.current_epoch
        return {"epoch": epoch, "batches_done": done}

    def load_state_dict(self, state_dict: dict) -> None:
        if "epoch" in state_dict:
            self._resume = (state_dict["epoch"], state_dict["batches_done"])

    def _batches(self, dataset: Dataset | None, shuffle: bool, drop_last: bool):
        if dataset is None:
            raise RuntimeError("call setup() before asking for a dataloader")
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        if isinstance(dataset, InMemoryImages):
            if self.device_resident and trainer is not None:
                dataset = dataset.to(trainer.strategy.root_device)  # once: batches are then views on device
            resume, self._resume = (self._resume, None) if shuffle else (None, self._resume)
            batches = InMemoryBatches(dataset, self.batch_size, shuffle, drop_last, seed=self.shuffle_seed,
                                      rank=rank, world_size=world, resume=resume,
                                      epoch_source=(lambda: trainer.current_epoch) if trainer is not None else None)
            if shuffle:
                self._train_batches = batches
            return batches
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=shuffle, drop_last=drop_last,
                          num_workers=self.num_workers, pin_memory=self.pin_memory,
                          persistent_workers=self.num_workers > 0)

    def train_dataloader(self):
        # drop_last: a 1-image last batch would break BatchNorm in the nets.
        return self._batches(self.train_set, shuffle=True, drop_last=True)

    def val_dataloader(self):
        return self._batches(self.val_set, shuffle=False, drop_last=False)

    def test_dataloader(self):
        return self._batches(self.test_set, shuffle=False, drop_last=False)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        # Normalise on the training device: uint8 crosses the bus, 4x less than float.
        images, labels = batch
        if images.dtype == torch.uint8:
            images = to_unit_range(images)
        return images, labels
