"""Crash and resume, divergence, bad input, reproducibility."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import ROOT, TINY, compose_train, run_cli
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cgan.cli.sample import main as sample_main
from cgan.cli.train import main as train_main
from cgan.errors import TrainingDiverged
from cgan.model import gan, losses
from cgan.training import train

QUICK = [o for o in TINY if not o.startswith("callbacks.")]
KILLABLE = ["train.py", "data.source=sample", "data.batch_size=16", "trainer.max_steps=400",
            "trainer.log_every_n_steps=1", "callbacks.model_checkpoint.every_n_train_steps=100",
            "callbacks.class_grid.every_n_batches=0", "trainer.enable_progress_bar=false", "print_config=false"]


def step_values(run_dir, tag="train/d_loss_step"):
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    return [(e.step, e.value) for e in events.Scalars(tag)]


@pytest.mark.slow
def test_sigkill_then_resume_reaches_the_target_with_one_curve(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, *KILLABLE, f"hydra.run.dir={run_dir}"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = run_dir / "checkpoints" / "step0000100.ckpt"
    deadline = time.time() + 120
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    # Kill it between two checkpoints (every 50 batches), so the steps it logged after the first
    # one must be purged on resume.
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert first.exists(), "the run never wrote its first checkpoint"
    killed_at = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    assert killed_at < 400

    code, stderr = run_cli(train_main, *KILLABLE[1:], f"hydra.run.dir={run_dir}", "ckpt_path=last")  # in-process
    assert code == 0, stderr[-2000:]
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 400
    # Both optimizers continued: Adam's step count is the whole run's, 200 batches each.
    assert [int(s["state"][0]["step"]) for s in ckpt["optimizer_states"]] == [200, 200]
    steps = [s for s, _ in step_values(run_dir)]
    assert steps == list(range(200))  # one continuous curve, no duplicated steps


def record_batches(monkeypatch):
    seen = []
    original = gan.ConditionalGAN.training_step

    def spy(self, batch, batch_idx):
        seen.append(batch[1].tolist())
        return original(self, batch, batch_idx)

    monkeypatch.setattr(gan.ConditionalGAN, "training_step", spy)
    return seen


@pytest.mark.slow
def test_resume_continues_the_data_order(tmp_path, monkeypatch):
    seen = record_batches(monkeypatch)
    # 2,000 training digits in batches of 100: 20 batches an epoch, 30 batches in all.
    overrides = [*QUICK, "data.batch_size=100", "data.val_fraction=0.6", "callbacks.model_checkpoint.every_n_train_steps=10",
                 "callbacks.class_grid.every_n_batches=0", "trainer.max_steps=60"]
    train(compose_train(tmp_path / "straight", overrides))
    straight = list(seen)
    seen.clear()
    train(compose_train(tmp_path / "split", [*overrides, "trainer.max_steps=50"]))  # stops mid-epoch 1
    train(compose_train(tmp_path / "split", [*overrides, "ckpt_path=last"]))
    assert len(straight) == 30 and seen == straight


def poison_generator_loss_after(n_good: int, monkeypatch) -> None:
    """G's loss turns NaN from its (n_good + 1)-th call on: a test-only stand-in for divergence."""
    calls = {"n": 0}
    real_loss = losses.generator_loss

    def poisoned(name, fake_logits, real_logits=None):
        calls["n"] += 1
        loss = real_loss(name, fake_logits, real_logits)
        return loss * float("nan") if calls["n"] > n_good else loss

    monkeypatch.setattr(losses, "generator_loss", poisoned)


def test_nan_stops_with_a_clear_message_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    poison_generator_loss_after(15, monkeypatch)
    run_dir = tmp_path / "run"
    cfg = compose_train(run_dir, [*QUICK, "callbacks.model_checkpoint.every_n_train_steps=10",
                                  "callbacks.class_grid.every_n_batches=0"])
    with pytest.raises(TrainingDiverged, match=r"global step 31 .*g_loss is nan.*on_nan=skip_batch"):
        train(cfg)
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 30
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point())


def test_nan_batches_can_be_skipped_and_counted(tmp_path, monkeypatch):
    calls = {"n": 0}
    real_loss = losses.discriminator_loss

    def sometimes_nan(name, real, fake, real_target=1.0):
        calls["n"] += 1
        loss = real_loss(name, real, fake, real_target)
        return loss * float("nan") if calls["n"] in (3, 7) else loss

    monkeypatch.setattr(losses, "discriminator_loss", sometimes_nan)
    cfg = compose_train(tmp_path, [*QUICK, "model.guard.on_nan=skip_batch", "callbacks=none", "trainer.max_steps=20"])
    run = train(cfg)
    assert run.model.guard.skipped_batches == 2
    assert run.metrics["train/skipped_batches"] == 2
    assert all(torch.isfinite(p).all() for p in run.model.parameters())


@pytest.mark.slow
def test_same_seed_same_losses(tmp_path):
    overrides = [*QUICK, "trainer.deterministic=true", "seed=7", "trainer.max_steps=20", "callbacks=none",
                 "trainer.log_every_n_steps=1"]
    train(compose_train(tmp_path / "a", overrides))
    train(compose_train(tmp_path / "b", overrides))
    a, b = step_values(tmp_path / "a"), step_values(tmp_path / "b")
    assert len(a) == 10 and a == b
    assert step_values(tmp_path / "a", "train/g_loss_step") == step_values(tmp_path / "b", "train/g_loss_step")


SMALL_DCGAN_ON_DIGITS = ["model=dcgan", "model.generator.base_width=8", "model.discriminator.base_width=8",
                        "model.ema.decay=0.9", "model.augment.policy=[translation,cutout]", "model.penalty.r1_gamma=1",
                        "model.penalty.interval=2"]


@pytest.mark.parametrize("model", [[], pytest.param(SMALL_DCGAN_ON_DIGITS, marks=pytest.mark.slow)],
                         ids=["mlp", "dcgan"])
def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path, model):
    """Stopped mid-epoch at step 14 and resumed to 30 == 30 steps straight, bit for bit (CPU), EMA included:
    the checkpoint carries the random stream as well as the weights, optimizers and data order."""
    overrides = [*QUICK, "seed=3", "callbacks.class_grid=null", "callbacks.generation_metrics=null",
                 "callbacks.real_data_preview=null", "trainer.limit_val_batches=0", *model]
    straight = train(compose_train(tmp_path / "a", [*overrides, "trainer.max_steps=30"])).model.state_dict()
    train(compose_train(tmp_path / "b", [*overrides, "trainer.max_steps=14"]))
    resumed = train(compose_train(tmp_path / "b", [*overrides, "trainer.max_steps=30", "ckpt_path=last"]))
    assert resumed.trainer.global_step == 30
    after = resumed.model.state_dict()
    assert straight.keys() == after.keys()
    different = [k for k in straight if not torch.equal(straight[k], after[k])]
    assert different == []


BAD_TRAIN_INPUTS = [
    (["model=transformer"], "Could not find 'model/transformer'"),
    (["data=cifar"], "Could not find 'data/cifar'"),
    (["model.no_such_key=1"], "Key 'no_such_key' is not in struct"),
    (["data.batch_size=0"], "data.batch_size=0 must be a positive whole number"),
    (["model.optimizer.lr=-0.1"], "model.optimizer.lr=-0.1 must be a positive number"),
    # values out of range are named before any data is read: here the folder does not even exist
    (["model=dcgan", "data=image_folder", "data.root={tmp}/nowhere", "model.optimizer.d_lr=0"],
     "model.optimizer.d_lr=0 must be a positive number"),
    (["model.ema.decay=1.5"], "model.ema.decay=1.5 must be between 0 and 1"),
    (["model=resnet", "data=image_folder", "data.root={tmp}/nowhere", "data.image_size=50"],
     "data.image_size=50: the resnet model cannot build 50x50"),
    (["model=dcgan", "data=image_folder", "data.root={tmp}/photos", "data.image_size=50"], "cannot build 50x50"),
    (["model=dcgan", "data=image_folder", "data.root={tmp}/nowhere"], "does not exist"),
    (["model=dcgan", "data=image_folder", "data.root={tmp}/empty"], "has no class folders"),
    (["ckpt_path={tmp}/missing.ckpt"], "does not exist"),
    (["ckpt_path={tmp}/foreign.ckpt"], "not a checkpoint written by this framework"),
    (["ckpt_path=last", "hydra.run.dir={tmp}/fresh"], "found no checkpoint"),
]


@pytest.mark.parametrize("overrides,message", BAD_TRAIN_INPUTS, ids=[" ".join(o) for o, _ in BAD_TRAIN_INPUTS])
def test_bad_train_input_gets_one_clear_message(tmp_path, overrides, message):
    from conftest import make_folder

    make_folder(tmp_path / "photos", per_class=2)
    (tmp_path / "empty").mkdir()
    torch.save({"state_dict": {}}, tmp_path / "foreign.ckpt")
    keep = tmp_path / "keep.txt"
    keep.write_text("saved before")
    args = [o.replace("{tmp}", str(tmp_path)) for o in overrides]
    if not any(a.startswith("hydra.run.dir") for a in args):
        args.append(f"hydra.run.dir={tmp_path}/run")
    if not any(a.startswith("data=") for a in args):
        args.append("data.source=sample")
    code, stderr = run_cli(train_main, "print_config=false", *args)
    assert code != 0
    assert message in stderr, stderr[-2000:]
    assert "Traceback" not in stderr
    assert keep.read_text() == "saved before"
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_bad_sample_inputs(trained_run, tmp_path):
    run_dir, _, _ = trained_run
    ckpt = f"ckpt_path={run_dir}/checkpoints/last.ckpt"
    a_file = tmp_path / "file.png"
    a_file.write_text("keep")
    cases = [
        ([ckpt, "labels=[10]"], "unknown label 10"),
        ([ckpt, "labels=[dog]"], "unknown label 'dog'"),
        ([ckpt, "n_per_label=0"], "n_per_label must be a positive integer"),
        ([ckpt, f"out_dir={a_file}"], "is a file"),
        ([ckpt, "mode=video"], "unknown mode='video'"),
        ([f"ckpt_path={tmp_path}/none.ckpt"], "checkpoint not found"),
    ]
    for args, message in cases:
        if not any(a.startswith("out_dir=") for a in args):
            args = [*args, f"out_dir={tmp_path}/out"]
        code, stderr = run_cli(sample_main, *args)
        assert code != 0 and message in stderr, (args, stderr[-1000:])
        assert "Traceback" not in stderr
    assert a_file.read_text() == "keep"


@pytest.mark.slow
def test_sparse_nan_checks_still_never_checkpoint_nan_weights(tmp_path, monkeypatch):
    poison_generator_loss_after(15, monkeypatch)
    run_dir = tmp_path / "run"
    cfg = compose_train(run_dir, [*QUICK, "model.guard.check_interval=3",  # batch 16 (the NaN step) goes unchecked
                                  "callbacks.model_checkpoint.every_n_train_steps=2",
                                  "callbacks.class_grid.every_n_batches=0"])
    with pytest.raises(TrainingDiverged, match="weights hold NaN/Inf"):
        train(cfg)
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 30
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point())


@pytest.mark.parametrize("job, scontrol, said", [
    (None, None, "Not a SLURM job"),
    ("77", "#!/bin/sh\necho 'Invalid job id' >&2\nexit 1\n", "scontrol requeue 77 failed: Invalid job id"),
    ("77", "#!/bin/sh\nexit 0\n", "Requeued SLURM job 77"),
])
def test_requeue_says_what_happened(tmp_path, monkeypatch, caplog, job, scontrol, said):
    """The SLURM requeue path's answers, without a signal: no job id, scontrol refusing, scontrol done."""
    from types import SimpleNamespace

    from cgan.training.interrupts import GracefulStop
    for key in [k for k in os.environ if k.startswith("SLURM_")]:
        monkeypatch.delenv(key)
    if job:
        monkeypatch.setenv("SLURM_JOB_ID", job)
    if scontrol:
        (tmp_path / "scontrol").write_text(scontrol)
        (tmp_path / "scontrol").chmod(0o755)
        monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    caplog.set_level("INFO", logger="cgan.training.interrupts")
    requeued = GracefulStop._requeue(SimpleNamespace(is_global_zero=True))
    assert requeued == said.startswith("Requeued")
    assert said in caplog.text
