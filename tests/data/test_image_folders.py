"""data=image_folder and data=rps: classes from folders, bad data refused before training, the decoded cache."""
import logging
from urllib.error import URLError

import numpy as np
import pytest
import torch
from conftest import CLASSES, TINY_DCGAN, compose_train, make_folder
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cgan.data import ImageFolderDataModule, RockPaperScissorsDataModule
from cgan.data.folder import load_image
from cgan.data import rps as rps_module
from cgan.errors import UserError
from cgan.generation import load_generator, sample
from cgan.training import train


def test_image_folder_trains_and_names_classes(tmp_path):
    root = make_folder(tmp_path / "gestures")
    run_dir = tmp_path / "run"
    cfg = compose_train(run_dir, [*TINY_DCGAN, f"data.root={root}", f"paths.data_dir={tmp_path / 'data'}"])
    run = train(cfg)
    assert run.trainer.global_step == 8
    assert run.datamodule.class_names == CLASSES and run.datamodule.image_shape == (3, 32, 32)
    # A grid row per class.
    grid = Image.open(max((run_dir / "grids").glob("*.png")))
    assert grid.mode == "RGB" and grid.size[1] == 3 * (32 + 2) + 2
    # The checkpoint names the classes and samples by name into <out>/<name>/.
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    assert load_generator(ckpt).class_names == CLASSES
    assert load_generator(ckpt).interpolation == "bicubic"  # what the model learnt from, recorded
    out = sample(str(ckpt), labels=["rock", "paper"], n_per_label=2, out_dir=str(tmp_path / "samples"))
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == [
        "grid.png", "paper/0000.png", "paper/0001.png", "rock/0000.png", "rock/0001.png"]
    assert Image.open(out / "rock" / "0000.png").size == (32, 32)
    # The real data was shown first: a real-image grid and the class counts.
    events = EventAccumulator(str(run_dir), size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    assert {"data/real_per_class", "samples/per_class"} <= set(events.Tags()["images"])
    assert any("data/class_counts" in t for t in events.Tags()["tensors"])


def test_a_folder_of_100_classes_trains_and_draws_each_by_name(tmp_path):
    rng = np.random.default_rng(0)
    names = [f"kind_{k:03d}" for k in range(100)]
    for k, name in enumerate(names):
        (tmp_path / "many" / name).mkdir(parents=True)
        for i in range(3):
            pixels = rng.integers(0, 40, (20, 20, 3), dtype=np.uint8) + np.uint8(2 * k)
            Image.fromarray(pixels, "RGB").save(tmp_path / "many" / name / f"{i}.png")
    run_dir = tmp_path / "run"
    cfg = compose_train(run_dir, [*TINY_DCGAN, f"data.root={tmp_path / 'many'}", "trainer.max_steps=2",
                                  "callbacks.class_grid.n_per_class=2", f"paths.data_dir={tmp_path / 'data'}"])
    run = train(cfg)
    assert run.datamodule.class_names == names
    grid = Image.open(max((run_dir / "grids").glob("*.png")))
    assert grid.size[1] == 100 * (32 + 2) + 2  # a row per class
    out = sample(str(run_dir / "checkpoints" / "last.ckpt"), labels=["kind_099", 42], n_per_label=1,
                 out_dir=str(tmp_path / "samples"))
    assert sorted(p.parent.name for p in out.rglob("0000.png")) == ["kind_042", "kind_099"]


def test_interpolation_writes_one_row_per_class(tmp_path):
    root = make_folder(tmp_path / "gestures", per_class=4)
    run_dir = tmp_path / "run"
    cfg = compose_train(run_dir, [*TINY_DCGAN, f"data.root={root}", "trainer.max_steps=2", "logger=none",
                                  f"paths.data_dir={tmp_path / 'data'}"])
    train(cfg)
    out = tmp_path / "interp"
    sample(str(run_dir / "checkpoints" / "last.ckpt"), labels=["scissors", 0], mode="interpolate", steps=5,
           out_dir=str(out))
    assert Image.open(out / "grid.png").size == (5 * 34 + 2, 2 * 34 + 2)  # a row of 5 steps per class
    assert len(list((out / "scissors").glob("*.png"))) == 5 and len(list((out / "paper").glob("*.png"))) == 5


@pytest.mark.parametrize("case,message", [
    ("missing", "does not exist"),
    ("no_classes", "has no class folders"),
    ("empty_class", "rock in .* hold no images"),
    ("one_class", "needs at least 2 classes"),
    ("corrupt", r"cannot read image .*broken\.png"),
])
def test_bad_folders_fail_before_training(tmp_path, case, message):
    root = tmp_path / "photos"
    if case == "no_classes":
        root.mkdir()
        (root / "loose.png").write_bytes(b"")
    elif case == "empty_class":
        make_folder(root, per_class=2, classes=["paper", "scissors"])
        (root / "rock").mkdir()
    elif case == "one_class":
        make_folder(root, per_class=2, classes=["rock"])
    elif case == "corrupt":
        make_folder(root, per_class=2)
        (root / "rock" / "broken.png").write_bytes(b"not a png")
    run_dir = tmp_path / "run"
    cfg = compose_train(run_dir, [*TINY_DCGAN, f"data.root={root}", f"paths.data_dir={tmp_path / 'data'}"])
    with pytest.raises(UserError, match=message):
        train(cfg)
    assert not (run_dir / "checkpoints").exists()  # nothing was trained


def test_corrupt_image_skipped_with_a_warning_when_asked(tmp_path, caplog):
    root = make_folder(tmp_path / "photos", per_class=2)
    (root / "rock" / "broken.png").write_bytes(b"not a png")
    dm = ImageFolderDataModule(root=str(root), image_size=16, skip_bad_images=True)
    with caplog.at_level(logging.WARNING):
        dm.setup("fit")
    assert len(dm.train_set) + len(dm.val_set) == 6
    assert any("broken.png" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_decoded_folder_is_cached_and_rebuilt_when_it_changes(tmp_path):
    root = make_folder(tmp_path / "photos", per_class=2)
    cache = tmp_path / "cache"
    first = ImageFolderDataModule(root=str(root), image_size=16, cache_dir=str(cache), val_fraction=0)
    first.setup("fit")
    assert len(list(cache.glob("*.pt"))) == 1
    again = ImageFolderDataModule(root=str(root), image_size=16, cache_dir=str(cache), val_fraction=0)
    again.setup("fit")
    assert torch.equal(first.train_set.images, again.train_set.images)
    Image.new("RGB", (20, 20), (255, 0, 0)).save(root / "rock" / "new.png")
    changed = ImageFolderDataModule(root=str(root), image_size=16, cache_dir=str(cache), val_fraction=0)
    changed.setup("fit")
    assert len(changed.train_set) == 7 and len(list(cache.glob("*.pt"))) == 2


def detailed_photos(root, size=300):
    """One 300x300 photo per class with fine stripes and noise: what a resize filter softens or keeps."""
    rng = np.random.default_rng(1)
    stripes = (np.indices((size, size)).sum(0) % 7 < 3)[..., None] * 120
    for k, name in enumerate(CLASSES[:2]):
        (root / name).mkdir(parents=True)
        pixels = (stripes + rng.integers(0, 100, (size, size, 3)) + 30 * k).clip(0, 255).astype(np.uint8)
        Image.fromarray(pixels, "RGB").save(root / name / "photo.png")
    return root


def test_folder_tensors_are_antialiased_bicubic_by_default_and_another_filter_rebuilds_the_cache(tmp_path):
    root, cache = detailed_photos(tmp_path / "photos"), tmp_path / "cache"
    made = lambda **kw: ImageFolderDataModule(root=str(root), image_size=64, cache_dir=str(cache), val_fraction=0,
                                              **kw)
    default = made()
    default.setup("fit")
    for k, name in enumerate(CLASSES[:2]):
        photo = TF.pil_to_tensor(Image.open(root / name / "photo.png").convert("RGB"))
        expected = TF.resize(photo, 64, interpolation=InterpolationMode.BICUBIC, antialias=True)
        assert torch.equal(default.train_set.images[default.train_set.labels == k][0], expected)
    assert len(list(cache.glob("*.pt"))) == 1
    bilinear = made(interpolation="bilinear")
    bilinear.setup("fit")
    assert len(list(cache.glob("*.pt"))) == 2  # another filter: another cache entry, not the bicubic images
    assert not torch.equal(bilinear.train_set.images, default.train_set.images)
    # The metrics read the same split with bicubic whatever training used.
    assert torch.equal(bilinear.for_metrics().train_set.images, default.train_set.images)
    assert default.for_metrics() is default
    lanczos = made(interpolation="lanczos", in_memory=False)  # a PIL-only filter, decoded per item
    lanczos.setup("fit")
    assert lanczos.train_set[0][0].shape == (3, 64, 64)
    with pytest.raises(UserError, match="data.interpolation='cubic' is not one of nearest.*bicubic"):
        made(interpolation="cubic")


def test_images_become_rgb_in_unit_range(tmp_path):
    root = make_folder(tmp_path / "photos", per_class=4)
    dm = ImageFolderDataModule(root=str(root), image_size=24, val_fraction=0, batch_size=12, hflip=False)
    dm.setup("fit")
    images, labels = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    assert images.shape == (12, 3, 24, 24) and images.min() >= -1 and images.max() <= 1
    # Each class keeps its tint channel brightest (RGBA and L converted, not scrambled); L images are grey.
    for k in range(3):
        tinted = images[labels == k].mean(dim=(0, 2, 3))
        assert tinted.argmax() == k


def test_rps_offline_names_the_folder_url_and_layout(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(rps_module, "download_url", offline)
    dm = RockPaperScissorsDataModule(data_dir=str(tmp_path / "data"))
    with pytest.raises(UserError) as err:
        dm.prepare_data()
    text = str(err.value)
    assert str(tmp_path / "data" / "rps") in text
    assert "https://storage.googleapis.com/download.tensorflow.org/data/rps.zip" in text
    assert "{paper,rock,scissors}/*.png" in text


def test_rps_reads_its_layout_with_folder_class_order(tmp_path):
    make_folder(tmp_path / "data" / "rps", per_class=3)
    make_folder(tmp_path / "data" / "rps-test-set", per_class=2)
    dm = RockPaperScissorsDataModule(data_dir=str(tmp_path / "data"), image_size=16, download=False)
    dm.prepare_data()
    dm.setup("fit")
    assert dm.class_names == ["paper", "rock", "scissors"]
    assert len(dm.test_set) == 6


def test_rps_best_sizes_images_by_device(tmp_path):
    assert compose_train(tmp_path, ["experiment=rps_best"]).data.image_size == 64
    assert compose_train(tmp_path, ["experiment=rps_best", "trainer=gpu"]).data.image_size == 128
    assert compose_train(tmp_path, ["experiment=rps_best", "data.image_size=32"]).data.image_size == 32


@pytest.mark.slow
def test_rps_best_preset_trains_with_diffaugment_and_draws_each_gesture(tmp_path):
    make_folder(tmp_path / "data" / "rps", per_class=6)
    make_folder(tmp_path / "data" / "rps-test-set", per_class=2)
    run_dir = tmp_path / "run"
    overrides = [o for o in TINY_DCGAN if not o.startswith(("model=", "data="))]
    run = train(compose_train(run_dir, ["experiment=rps_best", f"paths.data_dir={tmp_path / 'data'}",
                                        "data.download=false", *overrides]))
    model = run.model
    assert model.options.augment.policy == ("color", "translation", "cutout")
    assert model.discriminator.conditioning == "projection" and model.generator_ema is not None
    assert model.discriminator.decoder is not None and model.options.penalty.r1_gamma == 0.025
    assert model.hparams.generator["full_res_width"] == model.hparams.generator["base_width"]
    assert list(model.data.class_names) == CLASSES
    grid = Image.open(max((run_dir / "grids").glob("*.png")))
    assert grid.size[1] == 3 * (32 + 2) + 2  # one row per gesture


def test_a_test_root_that_is_not_a_folder_is_one_sentence(tmp_path):
    root = make_folder(tmp_path / "photos")
    data = ImageFolderDataModule(str(root), image_size=16, test_root=str(tmp_path / "tset"))
    with pytest.raises(UserError, match=r"data.test_root=.*tset is not a folder"):
        data.setup("fit")


def _wide_hand(path):
    """A 60x40 photo: green background, a white band across the whole width with red tips at both ends."""
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[...] = (0, 160, 0)
    pixels[15:25] = (255, 255, 255)
    pixels[15:25, :4] = pixels[15:25, -4:] = (255, 0, 0)
    Image.fromarray(pixels).save(path)
    return path


def _red(image):
    return (image[0] > 200) & (image[1] < 60) & (image[2] < 60)


def test_non_square_photos_are_fitted_as_asked(tmp_path):
    photo = _wide_hand(tmp_path / "hand.png")
    crop, pad, stretch = (load_image(photo, 32, fit) for fit in ("crop", "pad", "stretch"))
    assert crop.shape == pad.shape == stretch.shape == (3, 32, 32)
    assert not _red(crop).any()  # the centre square cuts off both tips
    assert _red(pad)[:, :2].any() and _red(pad)[:, -2:].any()  # everything kept...
    assert (pad[:, 0] == torch.tensor([0, 160, 0])[:, None]).all()  # ...the top filled out with the background
    assert _red(stretch)[:, :2].any() and _red(stretch)[:, -2:].any()
    with pytest.raises(UserError, match="data.fit='zoom' is not one of crop, pad, stretch"):
        ImageFolderDataModule(str(tmp_path), fit="zoom")


def _odd_images(folder):
    """Files a real photo folder may hold: readable ones in unusual modes, and broken ones."""
    import io

    folder.mkdir(parents=True)
    readable = {
        "cmyk.jpg": Image.new("CMYK", (20, 30), (0, 200, 200, 0)),
        "gray16.png": Image.fromarray(np.full((20, 20), 40000, np.uint16)),
        "gray.png": Image.new("L", (20, 20), 128),
        "palette.png": Image.new("RGB", (20, 20), (200, 30, 30)).convert("P"),
        "tiny.png": Image.new("RGB", (1, 1), (10, 200, 10)),
    }
    for name, img in readable.items():
        img.save(folder / name)
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (1, 2, 3)).save(buffer, format="PNG")
    broken = {"empty.png": b"", "truncated.png": buffer.getvalue()[:60], "text.jpg": b"hello, not a picture"}
    for name, data in broken.items():
        (folder / name).write_bytes(data)
    return sorted(readable), sorted(broken)


def test_odd_modes_are_read_and_each_broken_file_is_named(tmp_path, caplog):
    readable, broken = _odd_images(tmp_path / "photos" / "rock")
    make_folder(tmp_path / "photos", per_class=2, classes=["paper"])
    for name in readable:
        image = load_image(tmp_path / "photos" / "rock" / name, 16)
        assert image.shape == (3, 16, 16) and image.dtype == torch.uint8
    gray16 = load_image(tmp_path / "photos" / "rock" / "gray16.png", 8)
    assert 150 <= int(gray16.float().mean()) <= 160  # 40000 of 65535 is 156 of 255, not saturated white
    data = ImageFolderDataModule(root=str(tmp_path / "photos"), image_size=16, val_fraction=0.0)
    with pytest.raises(UserError, match=r"cannot read image .*(empty|text|truncated)"):
        data.setup("fit")
    data = ImageFolderDataModule(root=str(tmp_path / "photos"), image_size=16, val_fraction=0.0,
                                 skip_bad_images=True)
    with caplog.at_level(logging.WARNING):
        data.setup("fit")
    assert len(data.train_set) == len(readable) + 2
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert all(name in warned for name in broken) and "Skipped 3 unreadable image(s)" in warned


def test_an_image_above_the_decompression_bomb_limit_is_named(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "photos", per_class=2)
    Image.new("RGB", (64, 64)).save(root / "rock" / "huge.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64 x 64 is then past twice the limit
    data = ImageFolderDataModule(root=str(root), image_size=16)
    with pytest.raises(UserError, match=r"cannot read image .*huge\.png \(DecompressionBombError"):
        data.setup("fit")
