"""Any folder of class sub-folders (torchvision ImageFolder conventions).

Images are converted to RGB, resized (shorter side) and centre-cropped to
``image_size``, with an antialiased bicubic filter unless ``interpolation`` names
another: the filter decides how sharp the photos D learns from are (a bilinear
shrink of 300 px photos to 64 px is visibly softer; clean-fid, Parmar et al. 2022).
With ``in_memory`` (default) they are decoded once and kept as one uint8 tensor,
cached on disk (``cache_dir``) and rebuilt whenever the folder's files,
``image_size``, ``fit`` or ``interpolation`` change; otherwise they are decoded per batch
by DataLoader workers (for folders too large for memory). Class names are the
sub-folder names in sorted order.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset, Subset
from torchvision.datasets.folder import IMG_EXTENSIONS
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from cgan.data.base import ConditionalImageDataModule, InMemoryImages, split_indices
from cgan.errors import UserError

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
# The resize filter the metrics read real images with, whatever a training pipeline uses (clean-fid's
# rule), and the training default: antialiased bicubic keeps a 300 px photo's edges at 64 px.
METRICS_INTERPOLATION = "bicubic"
INTERPOLATIONS = tuple(mode.value for mode in InterpolationMode)
# torchvision resizes uint8 tensors with these; box, hamming and lanczos only exist for PIL images.
TENSOR_INTERPOLATIONS = ("nearest", "nearest-exact", "bilinear", "bicubic")
# What an unreadable image file raises in PIL: not an image (UnidentifiedImageError), truncated or empty
# (OSError, SyntaxError, ValueError), or above PIL's decompression-bomb limit (DecompressionBombError).
UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def scan_class_folders(root: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """(class names, [(file, class index)]) of an ImageFolder tree, or a UserError saying what is wrong."""
    if not root.is_dir():
        raise UserError(f"image folder {root} does not exist; set data.root to a folder with one sub-folder per "
                        "class (<root>/<class>/<image>.png)")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise UserError(f"{root} has no class folders; put the images in one sub-folder per class "
                        "(<root>/<class>/<image>.png)")
    samples, empty = [], []
    for index, name in enumerate(classes):
        files = sorted(p for p in (root / name).rglob("*") if p.is_file() and p.suffix.lower() in IMG_EXTENSIONS)
        if not files:
            empty.append(name)
        samples += [(f, index) for f in files]
    if empty:
        raise UserError(f"class folder(s) {', '.join(empty)} in {root} hold no images "
                        f"({', '.join(IMG_EXTENSIONS)}); add images or remove the folder")
    if len(classes) < 2:
        raise UserError(f"{root} has only one class folder ({classes[0]}); a conditional GAN needs at least 2 classes")
    return classes, samples


# How a non-square image becomes a square one (data.fit).
FITS = ("crop", "pad", "stretch")


def check_fit(fit: str) -> str:
    if fit not in FITS:
        raise UserError(f"data.fit={fit!r} is not one of {', '.join(FITS)}: crop (centre square), pad (whole "
                        "image, filled out with its border colour) or stretch (whole image, squashed)")
    return fit


def check_interpolation(interpolation: str) -> str:
    if interpolation not in INTERPOLATIONS:
        raise UserError(f"data.interpolation={interpolation!r} is not one of {', '.join(INTERPOLATIONS)}; "
                        f"{METRICS_INTERPOLATION} (antialiased, the default) keeps photos sharpest")
    return interpolation


def resize(img: Image.Image, size: int | list[int], interpolation: str = METRICS_INTERPOLATION) -> torch.Tensor:
    """uint8 (3, H, W) of an RGB PIL image resized (``size``: the shorter side, or [H, W]) with an
    antialiased filter; the tensor filters are torchvision's, the others PIL's."""
    mode = InterpolationMode(interpolation)
    if interpolation in TENSOR_INTERPOLATIONS:
        return TF.resize(TF.pil_to_tensor(img), size, interpolation=mode, antialias=True)
    return TF.pil_to_tensor(TF.resize(img, size, interpolation=mode, antialias=True))


def border_colour(tensor: torch.Tensor) -> list[int]:
    """The median colour of an image's outermost pixels: the background a padded photo is filled out with."""
    ring = torch.cat([tensor[:, 0], tensor[:, -1], tensor[:, :, 0], tensor[:, :, -1]], dim=1)
    return ring.median(dim=1).values.tolist()


def load_image(path: Path, image_size: int, fit: str = "crop",
               interpolation: str = METRICS_INTERPOLATION) -> torch.Tensor:
    """uint8 (3, S, S) from any mode (RGBA, L, P, ...), resized with ``interpolation``. A non-square image
    is fitted by ``fit``: ``crop`` resizes the shorter side to S and keeps the centre square (cuts off what
    lies beyond it), ``pad`` resizes the longer side to S and fills out the rest with the border colour
    (keeps everything), ``stretch`` resizes both sides to S (keeps everything, changes the proportions)."""
    with Image.open(path) as img:
        if img.mode.startswith("I"):  # 16-bit (or 32-bit) grayscale: to 8 bits by its range, not clipped at 255
            values = np.asarray(img, dtype=np.float64)
            peak = 65535.0 if values.max() <= 65535 else float(values.max())
            img = Image.fromarray((values / peak * 255).round().clip(0, 255).astype(np.uint8))
        img = img.convert("RGB")
    if fit == "stretch":
        return resize(img, [image_size, image_size], interpolation)
    if fit == "pad":
        width, height = img.size
        scale = image_size / max(height, width)
        size = [max(1, round(height * scale)), max(1, round(width * scale))]
        tensor = resize(img, size, interpolation)
        top, left = (image_size - size[0]) // 2, (image_size - size[1]) // 2
        canvas = torch.tensor(border_colour(tensor), dtype=torch.uint8)[:, None, None].repeat(1, image_size,
                                                                                             image_size)
        canvas[:, top:top + size[0], left:left + size[1]] = tensor
        return canvas
    return TF.center_crop(resize(img, image_size, interpolation), [image_size, image_size])


def check_readable(samples: list[tuple[Path, int]], skip_bad_images: bool) -> list[tuple[Path, int]]:
    """The samples whose files PIL can read; an unreadable one stops with its name, or is skipped and named."""
    good = []
    for path, label in samples:
        try:
            with Image.open(path) as img:
                img.verify()
            good.append((path, label))
        except UNREADABLE as err:
            if not skip_bad_images:
                raise UserError(f"cannot read image {path} ({type(err).__name__}: {err}); remove or replace it, "
                                "or set data.skip_bad_images=true to skip unreadable files") from err
            log.warning("Skipping unreadable image %s (%s)", path, err)
    return good


class FolderImages(Dataset):
    """Decodes one image per item (for DataLoader workers): (uint8 (3, S, S), label)."""

    def __init__(self, samples: list[tuple[Path, int]], image_size: int, fit: str = "crop",
                 interpolation: str = METRICS_INTERPOLATION):
        self.samples = samples
        self.image_size = image_size
        self.fit = fit
        self.interpolation = interpolation
        self.labels = torch.tensor([label for _, label in samples], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        return load_image(path, self.image_size, self.fit, self.interpolation), label


def folder_fingerprint(samples: list[tuple[Path, int]], image_size: int, fit: str = "crop",
                       interpolation: str = METRICS_INTERPOLATION) -> str:
    """Changes when any file is added, removed, renamed or rewritten, or the size, fit or filter changes."""
    digest = hashlib.sha1(f"{CACHE_FORMAT}:{image_size}:{fit}:{interpolation}".encode())
    for path, label in samples:
        stat = path.stat()
        digest.update(f"{path}|{label}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def decode_folder(root: Path, image_size: int, skip_bad_images: bool = False, cache_dir: Path | None = None,
                  fit: str = "crop", interpolation: str = METRICS_INTERPOLATION
                  ) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """(class names, uint8 images (N, 3, S, S), labels (N,)), from the cache when the folder is unchanged."""
    classes, samples = scan_class_folders(root)
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"{root.name}_{image_size}px_{folder_fingerprint(samples, image_size, fit, interpolation)}.pt"
        if cache.is_file():
            saved = torch.load(cache, weights_only=True)
            log.info("Loaded %d decoded images of %s from cache %s", len(saved["labels"]), root, cache)
            return saved["classes"], saved["images"], saved["labels"]

    images, labels, skipped = [], [], []
    for path, label in samples:
        try:
            images.append(load_image(path, image_size, fit, interpolation))
            labels.append(label)
        except UNREADABLE as err:
            if not skip_bad_images:
                raise UserError(f"cannot read image {path} ({type(err).__name__}: {err}); remove or replace it, "
                                "or set data.skip_bad_images=true to skip unreadable files") from err
            skipped.append(path)
            log.warning("Skipping unreadable image %s (%s)", path, err)
    if skipped:
        log.warning("Skipped %d unreadable image(s) in %s", len(skipped), root)
    present = set(labels)
    missing = [c for i, c in enumerate(classes) if i not in present]
    if missing:
        raise UserError(f"no readable images left for class(es) {', '.join(missing)} in {root}")
    result = (classes, torch.stack(images), torch.tensor(labels, dtype=torch.long))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        torch.save({"classes": result[0], "images": result[1], "labels": result[2]}, tmp)
        tmp.replace(cache)  # atomic: a crash never leaves half a cache
    return result


class ImageFolderDataModule(ConditionalImageDataModule):
    """``<root>/<class>/*.{png,jpg,...}`` as a conditional dataset of square RGB images.

    The split: a seeded ``val_fraction`` of ``root`` for validation; ``test_root``
    (same classes) for test when given, else the validation split.
    """

    def __init__(
        self,
        root: str,
        image_size: int = 64,
        batch_size: int = 64,
        val_fraction: float = 0.1,
        split_seed: int = 0,
        shuffle_seed: int | None = 0,
        hflip: bool = True,
        skip_bad_images: bool = False,
        in_memory: bool = True,
        cache_dir: str | None = None,
        device_resident: bool = True,
        num_workers: int = 0,
        pin_memory: bool = False,
        test_root: str | None = None,
        fit: str = "crop",
        interpolation: str = METRICS_INTERPOLATION,
    ):
        super().__init__(batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory,
                         device_resident=device_resident, shuffle_seed=shuffle_seed)
        self.in_memory = in_memory
        if image_size <= 0:
            raise UserError(f"data.image_size must be a positive integer, got {image_size}")
        self.root = Path(root)
        self.test_root = Path(test_root) if test_root else None
        self.image_size = image_size
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self.hflip = hflip
        self.skip_bad_images = skip_bad_images
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.image_shape = (3, image_size, image_size)
        self.fit = check_fit(fit)
        self.interpolation = check_interpolation(interpolation)
        self.test_root_optional = False  # a data.test_root that is not a folder is a typo: say so

    def for_metrics(self) -> ImageFolderDataModule:
        """The same split decoded again (and cached) with the metrics' antialiased bicubic filter when
        training uses another one."""
        return self.resized_with(METRICS_INTERPOLATION)

    def resized_with(self, interpolation: str) -> ImageFolderDataModule:
        """This data module (set up) with the same split of the same photos resized by ``interpolation``."""
        if interpolation == self.interpolation:
            return self
        twin = copy.copy(self)
        twin.interpolation = check_interpolation(interpolation)
        twin.train_set = twin.val_set = twin.test_set = None
        twin.setup()
        return twin

    def expected_classes(self) -> list[str] | None:
        """The class folders' names, listed without reading an image (None: no such folder yet)."""
        if not self.root.is_dir():
            return None
        return sorted(d.name for d in self.root.iterdir() if d.is_dir() and not d.name.startswith("."))

    def _load(self, root: Path) -> tuple[list[str], Dataset]:
        if self.in_memory:
            classes, images, labels = decode_folder(root, self.image_size, self.skip_bad_images, self.cache_dir,
                                                    self.fit, self.interpolation)
            return classes, InMemoryImages(images, labels)
        classes, samples = scan_class_folders(root)
        return classes, FolderImages(check_readable(samples, self.skip_bad_images), self.image_size, self.fit,
                                     self.interpolation)

    @staticmethod
    def _subset(dataset: Dataset, index: torch.Tensor) -> Dataset:
        if isinstance(dataset, InMemoryImages):
            return InMemoryImages(dataset.images[index], dataset.labels[index])
        subset = Subset(dataset, index.tolist())
        subset.labels = dataset.labels[index]
        return subset

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:  # setup() runs once in train.py and again inside fit
            return
        self.class_names, dataset = self._load(self.root)
        train_idx, val_idx = split_indices(len(dataset), self.val_fraction, self.split_seed)
        self.train_set = self._subset(dataset, train_idx)
        self.val_set = self._subset(dataset, val_idx)
        self.test_set = self.val_set
        if self.test_root is not None and not self.test_root.is_dir() and not self.test_root_optional:
            raise UserError(f"data.test_root={self.test_root} is not a folder; point it at a folder with the same "
                            "class sub-folders as data.root, or leave it unset to test on the validation split")
        if self.test_root is not None and self.test_root.is_dir():
            test_classes, self.test_set = self._load(self.test_root)
            if test_classes != self.class_names:
                raise UserError(f"test folder {self.test_root} has classes {test_classes}, "
                                f"training folder {self.root} has {self.class_names}; they must match")
        log.info("%s: %d classes (%s), %d train / %d val / %d test images at %dx%d", self.root,
                 self.num_classes, ", ".join(self.class_names), len(self.train_set), len(self.val_set),
                 len(self.test_set), self.image_size, self.image_size)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        images, labels = super().on_after_batch_transfer(batch, dataloader_idx)
        if self.hflip and self.trainer is not None and self.trainer.training:
            # Light augmentation on device: mirror a random half of the batch.
            flip = torch.rand(images.shape[0], device=images.device) < 0.5
            images = torch.where(flip[:, None, None, None], images.flip(-1), images)
        return images, labels
