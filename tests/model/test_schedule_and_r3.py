"""The short-budget recipe's keys: the relativistic pairing loss, R2, the budget-aware schedule and the
EMA half-life; each with hand-computed values, in training, under bf16 and DDP, and across a resume."""
import math
import signal
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from conftest import TINY, compose_train
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cgan.data import build_datamodule
from cgan.model import ema, losses, penalties
from cgan.model.schedule import Schedule, along, run_progress
from cgan.training import build_model, train
from cgan.training.interrupts import GracefulStop, TrainingInterrupted

QUICK = [o for o in TINY if not o.startswith("callbacks.")] + [
    "trainer.limit_val_batches=0", "callbacks.class_grid=null", "callbacks.generation_metrics=null",
    "callbacks.real_data_preview=null"]
SMALL_DCGAN = ["model=dcgan", "model.generator.base_width=8", "model.discriminator.base_width=8"]
R3 = ["model.objective.loss=rpgan", "model.penalty.r1_gamma=0.5", "model.penalty.r2_gamma=0.5", "model.penalty.interval=2"]
SCHEDULED = ["model.optimizer.schedule.shape=cosine", "model.optimizer.schedule.lr_end=0.25", "model.optimizer.schedule.gamma_end=0.1",
             "model.optimizer.schedule.beta2_start=0.9", "model.optimizer.betas=[0.0,0.99]"]


def test_rpgan_pairs_each_fake_with_a_real_image():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([1.0, 1.0])
    softplus = lambda x: math.log1p(math.exp(x))
    # D: softplus(fake_i - real_i), G: softplus(real_i - fake_i), averaged over the pairs
    assert losses.discriminator_loss("rpgan", real, fake).item() == pytest.approx((softplus(-1) + softplus(2)) / 2)
    assert losses.generator_loss("rpgan", fake, real).item() == pytest.approx((softplus(1) + softplus(-2)) / 2)
    assert losses.needs_real_logits("rpgan") and not losses.needs_real_logits("bce")
    with pytest.raises(ValueError, match="needs D's logits on the paired real images"):
        losses.generator_loss("rpgan", fake)


def test_the_zero_centred_penalty_sums_over_pixels_as_r3gan_and_stylegan2_do():
    fake = torch.randn(3, 3, 4, 4, requires_grad=True)
    logits = (0.5 * fake).flatten(1).sum(1)
    # ||grad||^2 = 0.5^2 per value, summed over 3 x 4 x 4 values: 12, whatever the batch size
    assert penalties.zero_centred_penalty(logits, fake).item() == pytest.approx(0.25 * 48)


def test_schedule_shapes_run_from_start_to_end():
    assert [along("linear", 1.0, 0.25, t) for t in (0, 0.5, 1, 2)] == [1.0, 0.625, 0.25, 0.25]
    assert along("cosine", 1.0, 0.25, 0.5) == pytest.approx(0.625)
    assert along("cosine", 1.0, 0.25, 0.1) > along("linear", 1.0, 0.25, 0.1)  # cosine stays high longer
    assert along("constant", 1.0, 0.25, 0.9) == 1.0
    schedule = Schedule(shape="linear", lr_end=0.25, gamma_end=0.1, beta2_start=0.9)
    assert (schedule.lr_factor(1.0), schedule.gamma_factor(1.0), schedule.beta2(0.5, 0.99)) == pytest.approx(
        (0.25, 0.1, 0.945))
    with pytest.raises(ValueError, match="model.optimizer.schedule.shape='step' is not one of constant, linear, cosine"):
        Schedule(shape="step")


def test_progress_is_whichever_budget_ends_the_run_first():
    from lightning.pytorch.callbacks import Timer

    timer = Timer(duration="00:00:10:00")  # 600 s
    timer.time_elapsed = lambda stage: 300.0
    loop = SimpleNamespace(epoch_loop=SimpleNamespace(_batches_that_stepped=25))
    trainer = SimpleNamespace(max_steps=200, global_step=50, max_epochs=10, num_training_batches=10,
                              fit_loop=loop, callbacks=[timer])
    assert run_progress(trainer) == pytest.approx(0.5)  # time: 300 of 600 s, ahead of steps (0.25) and epochs
    trainer.max_steps, trainer.callbacks = -1, []
    assert run_progress(trainer) == pytest.approx(0.25)  # epochs: 25 of 100 batches


def test_ema_half_life_is_in_images_and_ramps_with_images_seen():
    # after 10,000 images at batch 32 with a 10,000-image half-life: ramped to 500 images
    assert ema.decay_by_halflife(32, 10_000, 10_000, 0.05) == pytest.approx(0.5 ** (32 / 500))
    assert ema.decay_by_halflife(32, 10_000, 10**7, 0.05) == pytest.approx(0.5 ** (32 / 10_000))
    assert ema.decay_by_halflife(64, 10_000, 10**7, None) == pytest.approx(0.5 ** (64 / 10_000))


def test_the_short_budget_recipe_trains_a_dcgan_and_logs_its_schedule(tmp_path):
    cfg = compose_train(tmp_path, [*QUICK, *SMALL_DCGAN, *R3, *SCHEDULED, "model.ema.decay=null",
                                   "model.ema.halflife_images=500", "model.augment.policy=[translation]",
                                   "model.augment.ada_target=0.6", "trainer.max_steps=12"])
    L.seed_everything(cfg.seed)
    before = build_model(cfg, build_datamodule(cfg)).state_dict()
    run = train(cfg)
    after = run.model.state_dict()
    for prefix in ("generator.", "discriminator.", "generator_ema."):
        assert any(not torch.equal(before[k], after[k]) for k in after if k.startswith(prefix)), prefix
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point())
    # The last batch began at step 10 of 12: lr and beta2 where the cosine is at 10/12.
    opt_g = run.model.optimizers()[0].optimizer
    t = 10 / 12
    assert opt_g.param_groups[0]["lr"] == pytest.approx(2e-4 * along("cosine", 1.0, 0.25, t))
    assert opt_g.param_groups[0]["betas"] == pytest.approx((0.0, along("cosine", 0.9, 0.99, t)))
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert {"train/lr", "train/beta2", "train/gamma_factor", "train/progress"} <= set(events.Tags()["scalars"])
    lrs = [e.value for e in events.Scalars("train/lr")]
    assert lrs[0] > lrs[-1] and lrs == sorted(lrs, reverse=True)


@pytest.mark.slow
def test_a_resumed_run_continues_the_schedule_exactly(tmp_path, monkeypatch):
    """A 30-step run stopped (as by Ctrl-C) at step 14 and resumed == 30 steps straight, bit for bit: lr,
    gamma and beta2 pick up on the curve where they left it, and the EMA half-life ramp where it was."""
    overrides = [*QUICK, "seed=3", *R3, *SCHEDULED, "model.ema.decay=null", "model.ema.halflife_images=300",
                 "trainer.max_steps=30"]
    straight = train(compose_train(tmp_path / "a", overrides))
    original = GracefulStop.on_train_batch_end

    def ctrl_c_at_step_14(self, trainer, *args):
        if trainer.global_step == 14:
            self.received = signal.SIGINT
        original(self, trainer, *args)

    monkeypatch.setattr(GracefulStop, "on_train_batch_end", ctrl_c_at_step_14)
    with pytest.raises(TrainingInterrupted):
        train(compose_train(tmp_path / "b", overrides))
    monkeypatch.undo()
    resumed = train(compose_train(tmp_path / "b", [*overrides, "ckpt_path=last"]))
    expected, after = straight.model.state_dict(), resumed.model.state_dict()
    assert [k for k in expected if not torch.equal(expected[k], after[k])] == []
    for a, b in zip(straight.model.optimizers(), resumed.model.optimizers()):
        assert a.optimizer.param_groups[0]["lr"] == b.optimizer.param_groups[0]["lr"]


@pytest.mark.slow
def test_rpgan_with_r1_and_r2_trains_under_bf16(tmp_path):
    run = train(compose_train(tmp_path, [*QUICK, *SMALL_DCGAN, *R3, "trainer.precision=bf16-mixed",
                                         "trainer.max_steps=8"]))
    assert math.isfinite(run.metrics["train/d_loss"]) and math.isfinite(run.metrics["train/g_loss"])
    assert all(torch.isfinite(p).all() for p in run.model.parameters())


# rpgan with R1 and R2 on two DDP ranks, stopped and resumed exactly: tests/training/test_ddp_ranks.py.
