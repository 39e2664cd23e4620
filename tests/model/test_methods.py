"""The modern-GAN options of #6: every loss and every way D hears the label trains; penalties and
DiffAugment do what the papers say."""
import lightning as L
import pytest
import torch
from conftest import TINY, compose_train

from cgan.data import build_datamodule
from cgan.errors import UserError
from cgan.model import losses
from cgan.model.augment import DiffAugment, parse_policy
from cgan.nets import MLPDiscriminator
from cgan.training import build_model, train

QUICK = [o for o in TINY if not o.startswith("callbacks.")] + [
    "trainer.max_steps=12", "trainer.limit_val_batches=0", "callbacks=none", "logger=none"]

SMALL_DCGAN = ["model=dcgan", "model.generator.base_width=8", "model.discriminator.base_width=8"]


def train_and_check(tmp_path, overrides):
    """Train a few batches; both nets must have moved and every weight stay finite."""
    cfg = compose_train(tmp_path, [*QUICK, *overrides])
    L.seed_everything(cfg.seed)  # as train() does: the same initial weights
    before = build_model(cfg, build_datamodule(cfg)).state_dict()
    run = train(cfg)
    after = run.model.state_dict()
    for prefix in ("generator.", "discriminator."):
        assert any(not torch.equal(before[k], after[k]) for k in after if k.startswith(prefix)), prefix
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point())
    assert run.trainer.global_step == 12
    return run


# One of each in the everyday run; the others with -m slow (each is a few seconds of real training).
@pytest.mark.parametrize("loss", [loss if loss == "bce" else pytest.param(loss, marks=pytest.mark.slow)
                                  for loss in losses.LOSSES])
def test_each_loss_trains(tmp_path, loss):
    overrides = [f"model.objective.loss={loss}"]
    if loss == "wgan-gp":
        overrides.append("model.discriminator.batchnorm=false")
    if loss == "lsgan":  # R1 goes with any loss; one run covers it
        overrides += ["model.penalty.r1_gamma=1.0", "model.penalty.interval=2"]
    run = train_and_check(tmp_path, overrides)
    assert run.model.hparams.objective["loss"] == run.model.options.objective.loss == loss


@pytest.mark.parametrize("conditioning", [pytest.param("projection", marks=pytest.mark.slow), "acgan"])  # concat: every
# other test; multiply: presets
def test_each_mlp_conditioning_trains(tmp_path, conditioning):
    train_and_check(tmp_path, [f"model.discriminator.conditioning={conditioning}", "model.objective.loss=hinge"])


@pytest.mark.parametrize("conditioning", ["projection", pytest.param("acgan", marks=pytest.mark.slow)])
def test_dcgan_conditioning_with_spectral_norm_and_diffaugment_trains(tmp_path, conditioning):
    train_and_check(tmp_path, [*SMALL_DCGAN, f"model.discriminator.conditioning={conditioning}",
                               "model.discriminator.spectral_norm=true", "model.objective.loss=hinge",
                               "model.generator.conditional_batchnorm=true",
                               "model.augment.policy=[color,translation,cutout]"])


def test_lecam_trains_and_its_averages_follow_d(tmp_path):
    run = train_and_check(tmp_path, [*SMALL_DCGAN, "model.penalty.lecam_weight=0.3", "model.penalty.lecam_decay=0.5"])
    anchors = run.model.objective.lecam_anchors  # moving averages of D's real and fake logits, saved for resume
    assert torch.isfinite(anchors).all() and (anchors != 0).all()
    assert "objective.lecam_anchors" in run.model.state_dict()


def test_self_supervised_discriminator_trains_its_decoder(tmp_path):
    cfg = compose_train(tmp_path, [*QUICK, *SMALL_DCGAN, "model.discriminator.decoder=true"])
    L.seed_everything(cfg.seed)
    before = build_model(cfg, build_datamodule(cfg)).discriminator.decoder.state_dict()
    run = train_and_check(tmp_path, [*SMALL_DCGAN, "model.discriminator.decoder=true"])
    after = run.model.discriminator.decoder.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in after)  # the reconstruction loss reached it
    real = torch.zeros(2, *run.model.data.image_shape)
    _, _, redrawn = run.model.discriminator.forward_with_reconstruction(real, torch.tensor([0, 1]))
    assert redrawn.shape == (2, real.shape[1], real.shape[2] // 2, real.shape[3] // 2)


@pytest.mark.parametrize("bad", ["model.penalty.lecam_weight=-1", "model.penalty.lecam_decay=1.0"])
def test_lecam_refuses_bad_values(tmp_path, bad):
    cfg = compose_train(tmp_path, [*QUICK, bad])
    with pytest.raises(UserError, match="bad model config: model.penalty.lecam_weight must be >= 0"):
        build_model(cfg, build_datamodule(cfg))


@pytest.mark.parametrize("penalty", ["model.penalty.r1_gamma=0.1", "model.objective.loss=wgan-gp"])
def test_compile_with_a_gradient_penalty_is_refused_in_one_sentence(tmp_path, penalty):
    cfg = compose_train(tmp_path, [*QUICK, "model.speed.compile=true", penalty])
    with pytest.raises(UserError, match="model.speed.compile=true cannot train with model.penalty.r1_gamma > 0, model.penalty.r2_gamma > 0 or loss=wgan-gp"):
        build_model(cfg, build_datamodule(cfg))


def test_diffaugment_keeps_shapes_and_gradients():
    x = (torch.rand(6, 3, 16, 16) * 2 - 1).requires_grad_(True)
    out = DiffAugment(["color", "translation", "cutout"])(x)
    assert out.shape == x.shape
    assert not torch.equal(out, x)
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # differentiable: G learns through it
    assert torch.equal(DiffAugment([])(x), x)


def test_diffaugment_draws_the_same_transform_for_the_same_random_state():
    # Translation and cutout move or blank pixels regardless of their values: with the same random
    # draws, a real and a fake batch are shifted and cut in exactly the same places.
    real, fake = torch.rand(4, 1, 16, 16) + 1, -torch.rand(4, 1, 16, 16) - 1
    augment = DiffAugment(["translation", "cutout"])
    out_real = augment(real, generator=torch.Generator().manual_seed(7))
    out_fake = augment(fake, generator=torch.Generator().manual_seed(7))
    assert torch.equal(out_real == 0, out_fake == 0)
    assert (out_real == 0).any()


def test_gan_augments_real_and_fake_in_both_steps(tmp_path, monkeypatch):
    seen = []
    original = DiffAugment.forward

    def spy(self, x, generator=None, probability=None):
        seen.append((x.requires_grad, tuple(x.shape)))
        return original(self, x, generator, probability)

    monkeypatch.setattr(DiffAugment, "forward", spy)
    cfg = compose_train(tmp_path, [*QUICK, "model.augment.policy=[translation]", "trainer.max_steps=2"])
    train(cfg)
    # One batch: D sees augmented real and fake, then G's step augments its fakes (with gradient).
    assert len(seen) == 3 and seen[2][0] and all(shape == seen[0][1] for _, shape in seen)


def test_unknown_choices_are_refused():
    with pytest.raises(ValueError, match="unknown augmentation 'flip'"):
        parse_policy(["color", "flip"])
    with pytest.raises(ValueError, match="unknown conditioning='film'"):
        MLPDiscriminator(num_classes=10, image_shape=(1, 28, 28), conditioning="film")
