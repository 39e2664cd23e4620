"""The modern-GAN options of #6: every loss and every way D hears the label trains; penalties and
DiffAugment do what the papers say."""

import lightning as L
import pytest
import torch
from conftest import TINY, compose_train

from cgan import losses
from cgan.augment import DiffAugment, parse_policy
from cgan.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator
from cgan.nets.dcgan import ClassConditionalBatchNorm2d
from cgan.training import build_datamodule, build_model, train

# Training runs here: 6 batches, no callbacks or logger (the full loop is covered in test_training).
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


@pytest.mark.parametrize("loss", losses.LOSSES)
def test_each_loss_trains(tmp_path, loss):
    overrides = [f"model.loss={loss}"]
    if loss == "wgan-gp":
        overrides.append("model.discriminator.batchnorm=false")
    if loss == "lsgan":  # R1 goes with any loss; one run covers it
        overrides += ["model.r1_gamma=1.0", "model.r1_interval=2"]
    run = train_and_check(tmp_path, overrides)
    assert run.model.hparams.loss == loss


@pytest.mark.parametrize("conditioning", ["projection", "acgan"])  # concat: every other test; multiply: presets
def test_each_mlp_conditioning_trains(tmp_path, conditioning):
    train_and_check(tmp_path, [f"model.discriminator.conditioning={conditioning}", "model.loss=hinge"])


@pytest.mark.parametrize("conditioning", ["projection", "acgan"])
def test_dcgan_conditioning_with_spectral_norm_and_diffaugment_trains(tmp_path, conditioning):
    train_and_check(tmp_path, [*SMALL_DCGAN, f"model.discriminator.conditioning={conditioning}",
                               "model.discriminator.spectral_norm=true", "model.loss=hinge",
                               "model.generator.conditional_batchnorm=true",
                               "model.augment=[color,translation,cutout]"])


@pytest.mark.parametrize("make", [
    lambda c: MLPDiscriminator(num_classes=10, image_shape=(1, 28, 28), conditioning=c),
    lambda c: DCGANDiscriminator(num_classes=10, image_shape=(1, 28, 28), base_width=8, conditioning=c),
])
@pytest.mark.parametrize("conditioning", ["concat", "projection", "acgan"])
def test_discriminator_outputs(make, conditioning):
    d = make(conditioning)
    images, labels = torch.randn(5, 1, 28, 28), torch.tensor([0, 1, 2, 3, 9])
    assert d(images, labels).shape == (5,)
    logits, class_logits = d(images, labels, return_class_logits=True)
    assert logits.shape == (5,)
    if conditioning == "acgan":
        assert class_logits.shape == (5, 10)  # one logit per class
    else:
        assert class_logits is None


def test_conditional_batchnorm_gives_each_class_its_own_scale_and_shift():
    g = DCGANGenerator(latent_dim=8, num_classes=3, image_shape=(1, 16, 16), base_width=4,
                       conditional_batchnorm=True)
    norms = [m for m in g.modules() if isinstance(m, ClassConditionalBatchNorm2d)]
    assert norms and all(m.scale.num_embeddings == 3 for m in norms)
    with torch.no_grad():
        norms[0].shift.weight[2] += 5.0  # only class 2's shift changes
    z = torch.randn(6, 8)
    g.eval()
    before = g(z, torch.tensor([0, 0, 1, 1, 2, 2]))
    assert before.shape == (6, 1, 16, 16)
    with torch.no_grad():
        norms[0].shift.weight[2] -= 5.0
    after = g(z, torch.tensor([0, 0, 1, 1, 2, 2]))
    assert torch.equal(before[:4], after[:4]) and not torch.allclose(before[4:], after[4:])


def test_projection_logit_depends_on_the_label_through_the_inner_product():
    d = MLPDiscriminator(num_classes=3, image_shape=(1, 4, 4), hidden_dims=[8], batchnorm=False,
                         conditioning="projection").eval()
    images = torch.randn(2, 1, 4, 4)
    features = d.net(images.flatten(1))
    for label in range(3):
        labels = torch.full((2,), label)
        expected = d.head.linear(features).squeeze(1) + (d.head.projection(labels) * features).sum(1)
        assert torch.allclose(d(images, labels), expected)
    assert not torch.allclose(d(images, torch.zeros(2, dtype=torch.long)), d(images, torch.ones(2, dtype=torch.long)))


def test_wgan_losses_match_hand_computed_values():
    real, fake = torch.tensor([0.5, 2.0]), torch.tensor([-0.5, 1.0])
    assert losses.discriminator_loss("wgan-gp", real, fake).item() == pytest.approx(0.25 - 1.25)
    assert losses.generator_loss("wgan-gp", fake).item() == pytest.approx(-0.25)


class Linear2x(torch.nn.Module):
    """D(x, y) = sum(w * x): its input gradient is w everywhere, so the penalties are known exactly."""

    def __init__(self, w: float):
        super().__init__()
        self.w = w

    def forward(self, images, labels):
        return (self.w * images).flatten(1).sum(1)


def test_gradient_penalty_matches_hand_computed_value():
    real, fake, labels = torch.randn(4, 1, 2, 2), torch.randn(4, 1, 2, 2), torch.zeros(4, dtype=torch.long)
    # ||grad|| = |w| * sqrt(4 pixels) = 3 for w = 1.5, at every interpolate: penalty (3 - 1)^2 = 4.
    assert losses.gradient_penalty(Linear2x(1.5), real, fake, labels).item() == pytest.approx(4.0)
    assert losses.gradient_penalty(Linear2x(0.5), real, fake, labels).item() == pytest.approx(0.0, abs=1e-6)


def test_r1_penalty_matches_hand_computed_value_and_trains_d():
    real = torch.randn(3, 1, 2, 2, requires_grad=True)
    w = torch.tensor(2.0, requires_grad=True)
    logits = (w * real).flatten(1).sum(1)
    penalty = losses.r1_penalty(logits, real)
    assert penalty.item() == pytest.approx(4 * 2.0**2)  # ||grad||^2 = w^2 * 4 pixels
    penalty.backward()
    assert w.grad.item() == pytest.approx(2 * 4 * 2.0)  # d(4 w^2)/dw: the penalty reaches D's weights


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

    def spy(self, x, generator=None):
        seen.append((x.requires_grad, tuple(x.shape)))
        return original(self, x, generator)

    monkeypatch.setattr(DiffAugment, "forward", spy)
    cfg = compose_train(tmp_path, [*QUICK, "model.augment=[translation]", "trainer.max_steps=2"])
    train(cfg)
    # One batch: D sees augmented real and fake, then G's step augments its fakes (with gradient).
    assert len(seen) == 3 and seen[2][0] and all(shape == seen[0][1] for _, shape in seen)


def test_unknown_choices_are_refused():
    with pytest.raises(ValueError, match="unknown augmentation 'flip'"):
        parse_policy(["color", "flip"])
    with pytest.raises(ValueError, match="unknown conditioning='film'"):
        MLPDiscriminator(num_classes=10, image_shape=(1, 28, 28), conditioning="film")
