"""Losses and penalties match hand-computed values."""
import math

import pytest
import torch

from cgan.model import losses


def test_bce_losses_match_hand_computed_values():
    real, fake = torch.tensor([2.0]), torch.tensor([-1.0])
    sig = lambda x: 1 / (1 + math.exp(-x))
    expected_d = -math.log(sig(2.0)) - math.log(1 - sig(-1.0))
    assert losses.discriminator_loss("bce", real, fake).item() == pytest.approx(expected_d, rel=1e-6)
    assert losses.generator_loss("bce", fake).item() == pytest.approx(-math.log(sig(-1.0)), rel=1e-6)


def test_bce_on_logits_stays_finite_when_d_is_certain():
    assert torch.isfinite(losses.discriminator_loss("bce", torch.tensor([200.0]), torch.tensor([-200.0])))
    assert torch.isfinite(losses.generator_loss("bce", torch.tensor([-200.0])))


def test_hinge_and_lsgan_values():
    real, fake = torch.tensor([0.5, 2.0]), torch.tensor([-0.5, 1.0])
    assert losses.discriminator_loss("hinge", real, fake).item() == pytest.approx((0.5 + 0) / 2 + (0.5 + 2) / 2)
    assert losses.generator_loss("hinge", fake).item() == pytest.approx(-0.25)
    assert losses.discriminator_loss("lsgan", real, fake).item() == pytest.approx(
        0.5 * ((0.25 + 1) / 2 + (0.25 + 1) / 2))


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown loss='wasserstein'"):
        losses.check_loss("wasserstein")
