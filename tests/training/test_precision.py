"""trainer.precision=auto: float32 on every CPU (bf16 trains worse there), bf16 on a GPU that supports it;
every family, loss and method trains under bf16-mixed when it is asked for."""

import logging

import pytest
import torch
from conftest import TINY, compose_train

from cgan.model import losses
from cgan.training import train
from cgan.training.precision import choose_precision

QUICK = [o for o in TINY if not o.startswith("callbacks.")] + [
    "trainer.max_steps=8", "trainer.limit_val_batches=0", "callbacks=none", "logger=none"]
# The same with checkpoints (last.ckpt) and nothing else.
WITH_CHECKPOINTS = [o for o in QUICK if o != "callbacks=none"] + [
    "callbacks.class_grid=null", "callbacks.generation_metrics=null", "callbacks.real_data_preview=null"]


def cpu_with(monkeypatch, amx: bool, avx512_bf16: bool) -> None:
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)


@pytest.mark.parametrize("amx,avx512_bf16", [(True, True), (False, True), (False, False)])
def test_auto_trains_every_cpu_in_float32_and_an_explicit_choice_wins(monkeypatch, amx, avx512_bf16):
    cpu_with(monkeypatch, amx, avx512_bf16)
    precision, why = choose_precision("auto", "cpu")
    assert precision == "32-true"
    # The reason names the units it passed over and where the measurement is, or that there are none.
    assert ("AMX" in why if amx else "AVX512-BF16" in why if avx512_bf16 else "no bf16" in why)
    assert "docs/results.md" in why or not (amx or avx512_bf16)
    assert choose_precision("32-true", "cpu")[0] == "32-true" and choose_precision("bf16-mixed", "cpu")[0] == "bf16-mixed"
    assert choose_precision("auto", "mps")[0] == "32-true"


@pytest.mark.parametrize("requested,expected", [("auto", "32-true"), ("bf16-mixed", "bf16-mixed")])
def test_a_run_says_its_precision_and_the_checkpoint_records_it(tmp_path, monkeypatch, caplog, requested, expected):
    cpu_with(monkeypatch, True, False)  # AMX: auto still trains in float32 on a CPU
    with caplog.at_level(logging.INFO):
        run = train(compose_train(tmp_path / "run", [*WITH_CHECKPOINTS, f"trainer.precision={requested}"]))
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Training in")]
    if requested == "auto":
        assert said == [said[0]] and said[0].startswith(f"Training in {expected} precision")
    assert str(run.trainer.precision) == expected
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["precision"] == expected


SMALL_DCGAN = ["model=dcgan", "model.generator.base_width=8", "model.discriminator.base_width=8"]
# Every family, every loss, and the methods that differentiate D twice (R1, R2, WGAN-GP) or keep float32
# statistics (EMA, ADA, LeCam), each under bf16 autocast.
UNDER_BF16 = {
    "mlp-bce-ema": ["model.ema.decay=0.9"],
    "mlp-wgan-gp": ["model.objective.loss=wgan-gp", "model.discriminator.batchnorm=false"],
    "dcgan-rpgan-r1-r2-lecam-ada": [*SMALL_DCGAN, "model.objective.loss=rpgan", "model.penalty.r1_gamma=1", "model.penalty.r2_gamma=1",
                                    "model.penalty.lecam_weight=0.01", "model.augment.policy=[color,translation]",
                                    "model.augment.ada_target=0.6", "model.augment.ada_interval=1", "model.ema.decay=0.9"],
    "dcgan-hinge-fir-decoder-acgan": [*SMALL_DCGAN, "model.objective.loss=hinge", "model.generator.upsample=fir",
                                      "model.discriminator.downsample=fir", "model.discriminator.decoder=true",
                                      "model.discriminator.conditioning=acgan", "model.generator.full_res_width=8",
                                      "model.generator.full_res_blocks=1", "model.discriminator.stem_width=4"],
    "dcgan-lsgan": [*SMALL_DCGAN, "model.objective.loss=lsgan"],
    "resnet-hinge": ["model=resnet", "model.generator.base_width=8", "model.discriminator.base_width=8"],
}
assert {o.split("=")[1] for case in UNDER_BF16.values() for o in case if o.startswith("model.objective.loss=")} | {"bce"} == set(losses.LOSSES)


@pytest.mark.slow
@pytest.mark.parametrize("case", list(UNDER_BF16))
def test_every_family_loss_and_method_trains_under_bf16(tmp_path, case):
    run = train(compose_train(tmp_path, [*QUICK, "trainer.precision=bf16-mixed", *UNDER_BF16[case]]))
    assert run.trainer.global_step == 8
    state = run.model.state_dict()
    assert all(v.dtype != torch.bfloat16 for v in state.values())  # weights, BatchNorm, EMA stay float32
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    assert all(torch.isfinite(torch.tensor(v)) for k, v in run.metrics.items() if k.startswith("train/"))


def test_d_outputs_reach_the_losses_in_float32_under_bf16(tmp_path, monkeypatch):
    """On a CPU, autocast leaves softplus and pow in bf16: the losses and R1/R2 must see float32 logits."""
    seen = []
    original = losses.discriminator_loss
    monkeypatch.setattr(losses, "discriminator_loss",
                        lambda name, real, fake, **kw: seen.append((real.dtype, fake.dtype)) or original(name, real, fake, **kw))
    train(compose_train(tmp_path, [*QUICK, "trainer.precision=bf16-mixed", *SMALL_DCGAN, "model.penalty.r1_gamma=1"]))
    assert seen and set(seen) == {(torch.float32, torch.float32)}


@pytest.mark.slow
def test_a_seeded_bf16_run_repeats_itself_and_resumes_exactly(tmp_path):
    overrides = [*WITH_CHECKPOINTS, "trainer.precision=bf16-mixed", "seed=5", *SMALL_DCGAN, "model.penalty.r1_gamma=1",
                 "model.penalty.interval=2", "model.ema.decay=0.9", "model.augment.policy=[translation]"]
    at = lambda name, steps, *more: train(compose_train(tmp_path / name, [*overrides, f"trainer.max_steps={steps}", *more]))
    first, again = at("a", 16).model.state_dict(), at("b", 16).model.state_dict()
    assert [k for k in first if not torch.equal(first[k], again[k])] == []
    at("c", 6)
    resumed = at("c", 16, "ckpt_path=last").model.state_dict()
    assert [k for k in first if not torch.equal(first[k], resumed[k])] == []
