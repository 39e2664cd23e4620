"""Precision and Hydra multirun sweeps (DDP on CPU: tests/training/test_interrupts.py)."""

import math

import pytest
import torch
from conftest import TINY, compose_train, run_cli, run_script
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from cgan.cli.train import main as train_main
from cgan.training import train

QUICK = [o for o in TINY if not o.startswith("callbacks.")] + ["trainer.max_steps=10", "callbacks=none"]


@pytest.mark.parametrize("precision", ["32-true", pytest.param("bf16-mixed", marks=pytest.mark.slow)])
def test_precision_trains_with_finite_losses(tmp_path, precision):
    cfg = compose_train(tmp_path, [*QUICK, f"trainer.precision={precision}", "model.optimizer.gradient_clip_val=1.0"])
    run = train(cfg)
    assert run.trainer.global_step == 10
    assert math.isfinite(run.metrics["train/d_loss"]) and math.isfinite(run.metrics["train/g_loss"])
    assert all(torch.isfinite(p).all() for p in run.model.parameters())


def test_gradient_clipping_bounds_each_update(tmp_path):
    """With a tiny clip norm, one Adam step still moves weights by about lr: clipping scales the
    gradient, not the step. So check the clip itself: gradient norm at optimizer time <= clip."""
    from cgan.model import gan

    seen = []
    original = gan.ConditionalGAN.on_before_optimizer_step

    def spy(self, optimizer):
        original(self, optimizer)
        params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        seen.append(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params])).item())

    gan.ConditionalGAN.on_before_optimizer_step = spy
    try:
        train(compose_train(tmp_path, [*QUICK, "trainer.max_steps=4", "model.optimizer.gradient_clip_val=0.01"]))
    finally:
        gan.ConditionalGAN.on_before_optimizer_step = original
    assert len(seen) == 4 and max(seen) <= 0.01 + 1e-6


@pytest.mark.slow
def test_multirun_writes_one_dir_per_job_with_hparams_and_a_failing_job_does_not_stop_the_others(tmp_path):
    sweep_dir = tmp_path / "sweep"
    code, stderr = run_cli(train_main, "-m", "model.optimizer.lr=-1,1e-4,2e-4", *QUICK, "trainer.max_steps=4",
                           f"hydra.sweep.dir={sweep_dir}")
    assert code != 0  # the sweep reports the failed job when it ends
    assert "model.optimizer.lr=-1 must be a positive number" in stderr
    job_dirs = sorted((p for p in sweep_dir.iterdir() if p.is_dir()), key=lambda p: int(p.name.split("_")[0]))
    # Named by job number and its own overrides, so TensorBoard tells the curves apart; paths stay out.
    assert [p.name.split("_", 1)[0] for p in job_dirs] == ["0", "1", "2"]
    assert [p.name.split("model.optimizer.lr=")[1].split(",")[0] for p in job_dirs] == ["-1", "0.0001", "0.0002"]
    assert not any("sweep.dir" in p.name or "/" in p.name for p in job_dirs)
    lrs = []
    for job in job_dirs[1:]:  # the jobs after the failed one ran
        events = EventAccumulator(str(job))
        events.Reload()
        assert "hp/train/d_loss" in events.Tags()["scalars"]
        start = plugin_data_pb2.HParamsPluginData.FromString(
            events.PluginTagToContent("hparams")["_hparams_/session_start_info"])
        lrs.append(start.session_start_info.hparams["model/optimizer/lr"].number_value)
    assert lrs == [1e-4, 2e-4]


@pytest.mark.slow
@pytest.mark.parametrize("experiment", ["mnist_gan_baseline", "mnist_cgan_multiply"])
def test_article_presets_train(tmp_path, experiment):
    cfg = compose_train(tmp_path, [f"experiment={experiment}", *QUICK, "trainer.max_steps=4",
                                   "trainer.max_epochs=1"])
    run = train(cfg)
    assert run.trainer.global_step == 4
    if experiment == "mnist_gan_baseline":
        assert run.model.data.num_classes == 1 and run.model.hparams.data["class_names"] == ["any"]
    else:
        assert run.model.generator.conditioning == "multiply"


def test_global_batch_size_is_split_over_the_devices_and_refused_when_it_does_not_divide(tmp_path):
    from cgan.errors import UserError
    from cgan.training.run import set_batch_per_device

    cfg = compose_train(tmp_path, ["data.global_batch_size=48"])
    set_batch_per_device(cfg, world_size=4)
    assert cfg.data.batch_size == 12
    cfg = compose_train(tmp_path, ["data.batch_size=32"])  # unset: batch_size stays per device
    set_batch_per_device(cfg, world_size=4)
    assert cfg.data.batch_size == 32
    with pytest.raises(UserError, match=r"data.global_batch_size=50 does not divide over 4 devices.*=48"):
        set_batch_per_device(compose_train(tmp_path, ["data.global_batch_size=50"]), world_size=4)
    with pytest.raises(UserError, match=r"data.global_batch_size=0 must be a positive whole number"):
        set_batch_per_device(compose_train(tmp_path, ["data.global_batch_size=0"]), world_size=1)


def test_global_batch_size_trains_on_one_device_as_that_batch(tmp_path):
    run = train(compose_train(tmp_path, [*TINY, "data.global_batch_size=12", "trainer.max_steps=4"]))
    assert run.datamodule.batch_size == 12 and run.trainer.global_step == 4
