"""WGAN-GP and R1 penalties match hand-computed values."""
import pytest
import torch

from cgan.model import losses, penalties


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
    assert penalties.gradient_penalty(Linear2x(1.5), real, fake, labels).item() == pytest.approx(4.0)
    assert penalties.gradient_penalty(Linear2x(0.5), real, fake, labels).item() == pytest.approx(0.0, abs=1e-6)


def test_r1_penalty_matches_hand_computed_value_and_trains_d():
    real = torch.randn(3, 1, 2, 2, requires_grad=True)
    w = torch.tensor(2.0, requires_grad=True)
    logits = (w * real).flatten(1).sum(1)
    penalty = penalties.zero_centred_penalty(logits, real)
    assert penalty.item() == pytest.approx(4 * 2.0**2)  # ||grad||^2 = w^2 * 4 pixels
    penalty.backward()
    assert w.grad.item() == pytest.approx(2 * 4 * 2.0)  # d(4 w^2)/dw: the penalty reaches D's weights


def test_lecam_penalty_only_pulls_logits_that_drifted_past_the_other_sides_average():
    real, fake = torch.tensor([3.0, -1.0]), torch.tensor([-2.0, 1.0])
    # real logits above the fake anchor (0): (3 - 0)^2 / 2; fake logits below the real anchor (0.5): (2.5)^2 / 2
    expected = 9.0 / 2 + 2.5**2 / 2
    assert penalties.lecam_penalty(real, fake, torch.tensor(0.5), torch.tensor(0.0)).item() == pytest.approx(expected)
    # a D that has not drifted apart (real logits under the fake anchor, fake over the real one): no penalty
    assert penalties.lecam_penalty(torch.tensor([-1.0]), torch.tensor([1.0]), torch.tensor(0.0), torch.tensor(0.0)) == 0
