"""Where MNIST comes from: local files first, then download, then the bundled sample."""

import logging

import numpy as np
import pytest
import torch
from conftest import REAL_DATA_DIR
from torchvision.datasets import MNIST

from cgan.data import MNISTDataModule
from cgan.errors import UserError


def no_download(*args, **kwargs):
    raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: network unreachable")


def test_local_files_are_used_without_download(fake_mnist, monkeypatch):
    data_dir, train_x, train_y = fake_mnist
    monkeypatch.setattr(MNIST, "download", lambda self: pytest.fail("must not download when files exist"))
    dm = MNISTDataModule(data_dir=str(data_dir), val_fraction=0.25, batch_size=5)
    dm.setup("fit")
    assert dm.origin == "full"
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (45, 15, 20)
    # Every training image is one of the file's images with its own label, unmodified.
    for i in range(len(dm.train_set)):
        image, label = dm.train_set[i]
        matches = np.where((train_x == image[0].numpy()).all(axis=(1, 2)))[0]
        assert len(matches) == 1 and train_y[matches[0]] == label


def test_train_and_val_do_not_overlap(fake_mnist):
    data_dir, _, _ = fake_mnist
    dm = MNISTDataModule(data_dir=str(data_dir), val_fraction=0.25)
    dm.setup("fit")
    train_imgs = {bytes(x.numpy()) for x in dm.train_set.images}
    val_imgs = {bytes(x.numpy()) for x in dm.val_set.images}
    assert not train_imgs & val_imgs


def test_offline_falls_back_to_bundled_sample_with_one_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(MNIST, "download", no_download)
    dm = MNISTDataModule(data_dir=str(tmp_path / "empty"))
    with caplog.at_level(logging.WARNING):
        dm.setup("fit")
    assert dm.origin == "sample"
    assert len(dm.train_set) + len(dm.val_set) == 5000
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "5,000" in warnings[0].getMessage()
    assert "MNIST/raw" in warnings[0].getMessage()


def test_source_full_offline_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setattr(MNIST, "download", no_download)
    dm = MNISTDataModule(data_dir=str(tmp_path / "empty"), source="full")
    with pytest.raises(UserError, match=r"full MNIST is not in .*MNIST/raw.*data.source=sample"):
        dm.setup("fit")


def test_source_sample_skips_files(fake_mnist):
    data_dir, _, _ = fake_mnist
    dm = MNISTDataModule(data_dir=str(data_dir), source="sample")
    dm.setup("fit")
    assert dm.origin == "sample" and dm.num_classes == 10 and dm.image_shape == (1, 28, 28)


def test_batches_are_normalised_to_unit_range_like_torchvision(fake_mnist):
    data_dir, train_x, _ = fake_mnist
    dm = MNISTDataModule(data_dir=str(data_dir), batch_size=8, val_fraction=0.0)
    dm.setup("fit")
    images, labels = next(iter(dm.train_dataloader()))
    assert images.dtype == torch.uint8 and images.shape == (8, 1, 28, 28) and labels.shape == (8,)
    images, labels = dm.on_after_batch_transfer((images, labels), 0)
    assert images.dtype == torch.float32 and images.min() >= -1 and images.max() <= 1
    # Same numbers as ToTensor() + Normalize(0.5, 0.5).
    reference = (torch.from_numpy(train_x).float() / 255 - 0.5) / 0.5
    assert any(torch.allclose(images[0, 0], ref, atol=1e-6) for ref in reference)


def test_unknown_source_and_bad_batch_size_are_refused(tmp_path):
    with pytest.raises(UserError, match="data.source='web'"):
        MNISTDataModule(data_dir=str(tmp_path), source="web")
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        MNISTDataModule(data_dir=str(tmp_path), batch_size=0)


@pytest.mark.slow
def test_full_mnist_when_present():
    """Real data: the full 60k/10k MNIST of ../shared/data (or $CGAN_TEST_DATA_DIR); skipped when absent."""

    data_dir = REAL_DATA_DIR
    if not (data_dir / "MNIST" / "raw").is_dir():
        pytest.skip(f"no full MNIST under {data_dir}")
    dm = MNISTDataModule(data_dir=str(data_dir), source="full")
    dm.setup("fit")
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (54000, 6000, 10000)
    assert torch.bincount(dm.train_set.labels, minlength=10).min() > 4000
