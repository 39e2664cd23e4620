"""Laurence Moroney's rock-paper-scissors hand gestures (seed article 002).

2,520 training and 372 test images, 300x300 RGB(A) PNG, under
``<data_dir>/rps/<class>/`` and ``<data_dir>/rps-test-set/<class>/``, the
layout of the two archives TensorFlow Datasets uses. Class indices follow the
folder names in sorted order: 0 paper, 1 rock, 2 scissors (TFDS numbers them
rock, paper, scissors; we keep the folder order, like torchvision's ImageFolder).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from torchvision.datasets.utils import download_url, extract_archive

from cgan.data.folder import ImageFolderDataModule
from cgan.errors import UserError

log = logging.getLogger(__name__)

BASE_URL = "https://storage.googleapis.com/download.tensorflow.org/data/"
# folder -> (archive, size in bytes, sha256)
ARCHIVES = {
    "rps": ("rps.zip", 200_682_221, "c2403444395842ad04c53612bad54b574443eae17a0723117a2ff87b9d72194f"),
    "rps-test-set": ("rps-test-set.zip", 29_516_758,
                     "c27ab9fa43ce40b2e453de711365b477f4424586edf0388116674fd320f07503"),
}
CLASSES = ("paper", "rock", "scissors")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_archive(folder: str, data_dir: Path) -> None:
    """Download ``folder``'s archive into data_dir, check its size and sha256, and extract it there."""
    name, size, sha256 = ARCHIVES[folder]
    archive = data_dir / name
    if not archive.is_file():
        download_url(BASE_URL + name, str(data_dir), filename=name)
    if archive.stat().st_size != size or sha256_of(archive) != sha256:
        archive.rename(archive.with_suffix(".zip.corrupt"))
        raise UserError(f"{archive} does not match the published size/sha256 (kept as {archive.name}.corrupt); "
                        f"download {BASE_URL + name} again")
    extract_archive(str(archive), str(data_dir))


def missing_data_message(folder: Path, data_dir: Path, reason: str) -> str:
    name = ARCHIVES[folder.name][0]
    return (f"rock-paper-scissors folder {folder} is missing and could not be downloaded ({reason}); download "
            f"{BASE_URL + name} and unzip it into {data_dir} so that {folder}/{{{','.join(CLASSES)}}}/*.png exist")


class RockPaperScissorsDataModule(ImageFolderDataModule):
    # rps-test-set shows other hands in other light, far from the training photos: generated images
    # are scored against the training photos (and the floor from two halves of them), while the test
    # set checks the classifier (cgan-judge).
    metrics_reference = "train"

    def __init__(self, data_dir: str = "data", download: bool = True, **kwargs):
        self.data_dir = Path(data_dir)
        self.download = download
        super().__init__(root=str(self.data_dir / "rps"), test_root=str(self.data_dir / "rps-test-set"), **kwargs)
        self.test_root_optional = True  # without rps-test-set the validation split stands in for it

    def expected_classes(self) -> list[str]:
        return list(CLASSES)

    def prepare_data(self) -> None:
        for folder in (self.root, self.test_root):
            if folder.is_dir():
                continue
            if not self.download:
                if folder == self.root:
                    raise UserError(missing_data_message(folder, self.data_dir, "data.download=false"))
                continue  # the test set is optional: the validation split stands in for it
            try:
                self.data_dir.mkdir(parents=True, exist_ok=True)
                fetch_archive(folder.name, self.data_dir)
            except (OSError, RuntimeError) as err:  # URLError is an OSError
                if folder == self.root:
                    raise UserError(missing_data_message(folder, self.data_dir, str(err).splitlines()[0])) from err
                log.warning("%s", missing_data_message(folder, self.data_dir, str(err).splitlines()[0]))
