"""The Python API (cgan/api.py) as a notebook uses it: train, load, sample, show, save, score."""

import pytest
import torch
from conftest import TINY, TINY_DCGAN, make_folder

import cgan
from cgan.generation.export import export

SHORT = [*TINY, "trainer.max_steps=20", "callbacks.generation_metrics.n_per_class=10",
         "callbacks.generation_metrics.every_n_batches=5"]


def test_train_load_sample_and_evaluate_on_the_bundled_digits(sample_judge, tmp_path):
    judges = sample_judge[2] / "judges"
    run = cgan.train(*SHORT, f"paths.judge_dir={judges}", run_dir=tmp_path / "run")
    # The folder train.py writes: config, log, events, grids, checkpoints (best: metrics were on).
    assert (run.dir / ".hydra" / "config.yaml").is_file() and (run.dir / "train.log").stat().st_size > 0
    assert list(run.dir.glob("events.out.tfevents.*")) and list((run.dir / "grids").glob("*.png"))
    assert run.last_checkpoint.is_file() and run.best_checkpoint.is_file() and run.checkpoint == run.best_checkpoint
    assert run.global_step == 20 and run.stopped_by is None
    assert {"train/d_loss", "train/g_loss", "metrics/fid", "metrics/precision"} <= set(run.metrics)
    assert "<table>" in run._repr_html_()

    g = cgan.load(run.dir)
    assert g.source.name == "best.ckpt" and g.class_names == [str(k) for k in range(10)]
    sevens = g.sample("7", n=16)
    assert sevens.images.shape == (16, 1, 28, 28) and sevens.names == ["7"] * 16
    assert sevens.images.min() >= -1 and sevens.images.max() <= 1
    png = sevens._repr_png_()
    assert png.startswith(b"\x89PNG") and sevens.grid().size == (2 + 16 * 30, 2 + 30)  # one row of 16
    grid = g.every_class(n=4, seed=3)
    assert grid.images.shape == (40, 1, 28, 28) and grid.labels == [k for k in range(10) for _ in range(4)]
    assert torch.equal(g.every_class(n=4, seed=3).images, grid.images)  # seeded
    walk = g.walk(3, "5", steps=8)
    assert walk.images.shape == (16, 1, 28, 28) and walk.names == ["3"] * 8 + ["5"] * 8
    saved = sevens.save(tmp_path / "sevens")
    assert (saved / "grid.png").is_file() and len(list((saved / "7").glob("*.png"))) == 16

    scores = cgan.evaluate(g, "data.source=sample", "n_per_class=20", f"paths.judge_dir={judges}")
    assert {"fid", "kid_x1000", "precision", "recall", "conditional_accuracy", "per_class"} <= set(scores)
    assert set(scores["per_class"]) == set(g.class_names)
    assert "conditional accuracy" in str(scores) and "<table>" in scores._repr_html_()
    assert (run.dir / "checkpoints" / "best_metrics.json").is_file()  # as cgan-evaluate writes it


def test_an_image_folder_run_and_its_exported_files_draw_the_same_rocks(gesture_checkpoint, tmp_path):
    g = cgan.load(gesture_checkpoint.parent.parent)  # the run dir
    rocks = g.sample("rock", n=3, seed=5)
    assert rocks.images.shape == (3, 3, 32, 32) and rocks.names == ["rock"] * 3
    picked = g.sample("rock", n=3, seed=5, rejection=2)  # each the better of two, as D rates them
    assert picked.images.shape == rocks.images.shape and not torch.equal(picked.images, rocks.images)
    assert rocks._repr_png_().startswith(b"\x89PNG")
    for fmt in ("pt2", "onnx"):
        exported = cgan.load(export(gesture_checkpoint, format=fmt, out=tmp_path / f"g.{fmt}"))
        assert exported.class_names == ["paper", "rock", "scissors"]
        torch.testing.assert_close(exported.sample("rock", n=3, seed=5).images, rocks.images, atol=1e-4, rtol=0)
    with pytest.raises(cgan.UserError, match="rejection needs the discriminator"):
        exported.sample("rock", rejection=2)


def test_mistakes_are_the_commands_one_sentence(gesture_checkpoint, tmp_path):
    with pytest.raises(cgan.UserError, match=r"Could not find 'model/nope'.*Available options in 'model'"):
        cgan.train("model=nope", run_dir=tmp_path / "a")
    with pytest.raises(cgan.UserError, match=r"data.batch_size=0 must be a positive whole number"):
        cgan.train("data.batch_size=0", run_dir=tmp_path / "b")
    with pytest.raises(cgan.UserError, match=r"unknown label 'elephant'.*paper, rock, scissors"):
        cgan.load(gesture_checkpoint).sample("elephant")
    with pytest.raises(cgan.UserError, match="not found"):
        cgan.load(tmp_path / "nothing.pt2")
    with pytest.raises(cgan.UserError, match="not a run folder"):
        cgan.resume(tmp_path)


def test_ctrl_c_in_a_cell_saves_and_resume_finishes_the_run(tmp_path):
    run = cgan.train(*TINY, "callbacks.generation_metrics=null", "+callbacks.stop._target_=probes.CtrlCAtBatch",
                     "+callbacks.stop.batch=6", run_dir=tmp_path)
    assert run.stopped_by == "SIGINT" and run.global_step == 12 and run.last_checkpoint.is_file()
    done = cgan.resume(run.dir, "~callbacks.stop")
    assert done.stopped_by is None and done.global_step == 40 and done.dir == run.dir
