"""sample.py on a trained checkpoint: the files asked for, and clear refusals."""

import pytest
import torch
from conftest import run_cli, run_script
from PIL import Image

from cgan.cli.sample import main as sample_main
from cgan.errors import UserError
from cgan.generation import draw_noise, generate, load_generator, resolve_labels, sample


@pytest.mark.slow
def test_sample_py_writes_exactly_the_requested_files(trained_run, tmp_path):
    """The README command itself, in a fresh interpreter."""
    run_dir, _, _ = trained_run
    out = tmp_path / "out"
    result = run_script("sample.py", f"ckpt_path={run_dir}/checkpoints/last.ckpt", "labels=[3,5]",
                        "n_per_label=4", f"out_dir={out}", "seed=1")
    assert result.returncode == 0, result.stderr
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.png"))
    assert files == ["3/0000.png", "3/0001.png", "3/0002.png", "3/0003.png",
                     "5/0000.png", "5/0001.png", "5/0002.png", "5/0003.png", "grid.png"]
    assert Image.open(out / "3" / "0000.png").size == (28, 28)
    grid_w, grid_h = Image.open(out / "grid.png").size
    assert (grid_w, grid_h) == (4 * 30 + 2, 2 * 30 + 2)  # one row per label


def test_same_seed_same_images(trained_run):
    run_dir, _, _ = trained_run
    gen = load_generator(run_dir / "checkpoints" / "last.ckpt")
    a = generate(gen, [1, 2], 3, seed=7)
    b = generate(gen, [1, 2], 3, seed=7)
    assert a.shape == (6, 1, 28, 28) and torch.equal(a, b)
    assert a.min() >= -1 and a.max() <= 1


def test_unknown_label_fails_with_one_clear_line(trained_run, tmp_path):
    run_dir, _, _ = trained_run
    out = tmp_path / "out"
    code, stderr = run_cli(sample_main, f"ckpt_path={run_dir}/checkpoints/last.ckpt", "labels=[12]", f"out_dir={out}")
    assert code == 2
    assert "unknown label 12" in stderr and "0..9" in stderr
    assert "Traceback" not in stderr
    assert not out.exists()


def test_missing_checkpoint_fails_with_one_clear_line(tmp_path):
    code, stderr = run_cli(sample_main, f"ckpt_path={tmp_path}/nope.ckpt")
    assert code == 2
    assert "checkpoint not found" in stderr and "Traceback" not in stderr


def test_foreign_file_is_not_taken_for_a_checkpoint(tmp_path):
    bogus = tmp_path / "weights.ckpt"
    torch.save({"state_dict": {}}, bogus)
    with pytest.raises(UserError, match="not a checkpoint written by this framework"):
        load_generator(bogus)
    (tmp_path / "junk.ckpt").write_text("hello")
    with pytest.raises(UserError, match="not a readable PyTorch checkpoint"):
        load_generator(tmp_path / "junk.ckpt")


def test_bad_n_per_label_and_file_out_dir(trained_run, tmp_path):
    run_dir, _, _ = trained_run
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    with pytest.raises(UserError, match="n_per_label"):
        sample(str(ckpt), n_per_label=0, out_dir=str(tmp_path / "x"))
    a_file = tmp_path / "taken"
    a_file.write_text("keep me")
    with pytest.raises(UserError, match="is a file"):
        sample(str(ckpt), out_dir=str(a_file))
    assert a_file.read_text() == "keep me"


def test_labels_by_index_name_or_all():
    names = ["paper", "rock", "scissors"]
    assert resolve_labels(None, names) == [0, 1, 2]
    assert resolve_labels(["rock", 2, "0"], names) == [1, 2, 0]
    with pytest.raises(UserError, match="unknown label 'lizard'"):
        resolve_labels(["lizard"], names)


def test_truncated_noise_stays_inside_the_bound():
    z = draw_noise(2000, 16, torch.Generator().manual_seed(0), truncation=0.5)
    assert z.abs().max() <= 0.5 and z.std() > 0.2


def test_a_run_dir_means_its_best_checkpoint_when_kept_and_says_which(trained_run, tmp_path, caplog):
    import logging
    import shutil

    from cgan.checkpoints import checkpoint_file, newest_run_checkpoint

    run_dir, _, _ = trained_run
    copy = tmp_path / "outputs" / "run"
    shutil.copytree(run_dir / "checkpoints", copy / "checkpoints")
    with caplog.at_level(logging.INFO, logger="cgan.checkpoints"):
        assert checkpoint_file(copy) == copy / "checkpoints" / "last.ckpt"
        assert "has no best.ckpt" in caplog.text
        shutil.copy(copy / "checkpoints" / "last.ckpt", copy / "checkpoints" / "best.ckpt")
        caplog.clear()
        assert checkpoint_file(copy) == copy / "checkpoints" / "best.ckpt"
        assert newest_run_checkpoint(tmp_path / "outputs") == copy / "checkpoints" / "best.ckpt"
        assert "lowest FID" in caplog.text
    # A file is taken as it is.
    assert checkpoint_file(copy / "checkpoints" / "last.ckpt") == copy / "checkpoints" / "last.ckpt"
    out = sample(str(copy), labels=[3], n_per_label=2, out_dir=str(tmp_path / "samples"))
    assert (out / "3" / "0001.png").is_file()
