"""Shared helpers: compose the real Hydra config for a temp run dir, write fake MNIST files."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

from cgan.config import compose

ROOT = Path(__file__).resolve().parent.parent
# Decoded-image caches of the tests' made folders: outside the checkout (paths.cache_dir defaults to outputs/cache).
TEST_CACHE_DIR = Path(tempfile.mkdtemp(prefix="cgan-test-cache-"))


def files_the_suite_may_not_leave() -> set[str]:
    """The checkout's top-level entries and every file under outputs/: the suite must add none (a user's clean
    clone stays clean after `pytest`; tests write into tmp paths)."""
    top = {p.name for p in ROOT.iterdir() if p.name not in (".pytest_cache", ".venv", "cgan.egg-info")}
    outputs = {str(p.relative_to(ROOT)) for p in (ROOT / "outputs").rglob("*") if p.is_file()} \
        if (ROOT / "outputs").is_dir() else set()
    return top | outputs


def pytest_sessionstart(session):
    session.config.stash[_BEFORE] = files_the_suite_may_not_leave()


def pytest_sessionfinish(session, exitstatus):
    if session.config.option.collectonly or getattr(session.config, "workerinput", None) is not None:
        return
    left = sorted(files_the_suite_may_not_leave() - session.config.stash[_BEFORE])
    if left:
        session.config.get_terminal_writer().line(
            f"FAILED: the tests left {len(left)} new file(s) in the checkout (write to tmp_path instead): "
            + ", ".join(left[:10]), red=True)
        session.exitstatus = 1


_BEFORE = pytest.StashKey[set]()
CONF_DIR = str(ROOT / "conf")
# Real MNIST and the gesture photos, when the checkout has ../shared beside it; tests that need them skip otherwise.
REAL_DATA_DIR = Path(os.environ.get("CGAN_TEST_DATA_DIR", ROOT.parent / "shared" / "data"))

# A run small enough for 2 CPU cores: real digits from the bundled sample, tiny batches.
TINY = [
    "data.source=sample",
    "data.batch_size=16",
    "trainer.max_steps=40",  # 20 batches: one D and one G step each
    "trainer.log_every_n_steps=2",
    "trainer.limit_val_batches=2",
    "trainer.val_check_interval=10",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "callbacks.class_grid.every_n_batches=10",
    "callbacks.model_checkpoint.every_n_train_steps=20",
    "print_config=false",
    f"paths.cache_dir={TEST_CACHE_DIR}",
    f"paths.judge_dir={TEST_CACHE_DIR / 'judges'}",  # not the checkout's outputs/judges: a developer's may be there
]


CLASSES = ["paper", "rock", "scissors"]


def make_folder(root, per_class=6, classes=CLASSES):
    """Class folders of mixed sizes and modes (RGBA / L / RGB PNG and JPEG), each class its own colour."""
    rng = np.random.default_rng(0)
    modes = [("RGBA", "png"), ("L", "png"), ("RGB", "jpg"), ("RGB", "png")]
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            mode, ext = modes[i % len(modes)]
            w, h = [(40, 40), (50, 36), (30, 44)][i % 3]
            pixels = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
            pixels[..., k] += 150  # class k is tinted in channel k
            img = Image.fromarray(pixels, "RGB").convert(mode)
            img.save(root / name / f"{i:03d}.{ext}")
    return root

TINY_DCGAN = [
    "model=dcgan", "data=image_folder", "data.image_size=32", "data.batch_size=4", "data.val_fraction=0.2",
    "model.generator.base_width=8", "model.discriminator.base_width=8",
    "trainer.max_steps=8", "trainer.log_every_n_steps=1", "trainer.limit_val_batches=1",
    "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false", "print_config=false",
    f"paths.cache_dir={TEST_CACHE_DIR}", f"paths.judge_dir={TEST_CACHE_DIR / 'judges'}",
]


@pytest.fixture(scope="session")
def gesture_checkpoint(tmp_path_factory) -> Path:
    """last.ckpt of a tiny DCGAN trained a few batches on a made 3-class folder (paper, rock, scissors)."""
    from cgan.training import train

    root = make_folder(tmp_path_factory.mktemp("gestures") / "photos")
    run_dir = tmp_path_factory.mktemp("gesture_run")
    train(compose_train(run_dir, [*TINY_DCGAN, f"data.root={root}", f"paths.cache_dir={run_dir}/cache"]))
    return run_dir / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="session")
def mnist_sample():
    from cgan.data import MNISTDataModule

    dm = MNISTDataModule(source="sample", val_fraction=0.2)
    dm.setup("fit")
    return dm


@pytest.fixture(scope="session")
def sample_judge(mnist_sample, tmp_path_factory):
    """A classifier trained briefly on the 4,000 bundled training digits, saved where configs look."""
    from cgan.metrics.judge import accuracy, fit_classifier, save_judge

    # Half the judge's usual width: 0.91 on the held-out digits in 5 s (the full one: 0.93 in 12 s).
    model = fit_classifier(mnist_sample.train_set, 10, (1, 28, 28), epochs=3, width=16)
    acc = accuracy(model, mnist_sample.test_set)
    data_dir = tmp_path_factory.mktemp("data")
    save_judge(model, data_dir / "judges" / "mnist.pt", mnist_sample.class_names, acc)
    return model, acc, data_dir


def compose_train(run_dir: Path, overrides: list[str] = ()):
    """The config train.py would see for these overrides, with its run dir at ``run_dir`` (``???`` values are
    left for the test to see)."""
    return compose("train", overrides, run_dir, require_values=False)


def run_script(*args: str, cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file as MNIST ships them: magic (uint8, ndim), big-endian dims, raw bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def fake_mnist(tmp_path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A data_dir with a 60-image train set and a 20-image test set in torchvision's MNIST/raw layout."""
    rng = np.random.default_rng(0)
    raw = tmp_path / "data" / "MNIST" / "raw"
    train_x = rng.integers(0, 256, (60, 28, 28), dtype=np.uint8)
    train_y = np.arange(60) % 10
    write_idx(raw / "train-images-idx3-ubyte", train_x)
    write_idx(raw / "train-labels-idx1-ubyte", train_y)
    write_idx(raw / "t10k-images-idx3-ubyte", train_x[:20])
    write_idx(raw / "t10k-labels-idx1-ubyte", train_y[:20])
    return tmp_path / "data", train_x, train_y


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """One tiny real training run shared by the tests that inspect its outputs."""
    from cgan.training import train

    run_dir = tmp_path_factory.mktemp("run")
    cfg = compose_train(run_dir, TINY)
    run = train(cfg)
    return run_dir, cfg, run


def run_cli(main, *args: str) -> tuple[int, str]:
    """Run a Hydra entry point (cgan.cli.train.main, cgan.cli.sample.main, ...) in this process, as the command line
    would; returns (exit code, stderr). Saves the interpreter start-up of a subprocess per case."""
    import contextlib
    import io

    GlobalHydra.instance().clear()
    stderr = io.StringIO()
    argv = sys.argv
    sys.argv = ["cli", *args]
    code = 0
    try:
        with contextlib.redirect_stderr(stderr):
            main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.argv = argv
        GlobalHydra.instance().clear()
    return code, stderr.getvalue()
