"""Adversarial losses, all on D's raw logits.

Working on logits (softplus / BCE-with-logits) instead of Sigmoid + BCELoss is
what keeps the loss finite when D is very sure, and safe under autocast.

``bce`` is the articles' non-saturating loss: D minimises
-log D(x) - log(1 - D(G(z))) and G minimises -log D(G(z)). ``wgan-gp`` is the
Wasserstein critic loss (its gradient penalty: :mod:`cgan.model.penalties`).
``rpgan`` is the relativistic pairing loss of R3GAN (Huang et al., NeurIPS 2024):
each real image is paired with a fake one, D minimises softplus(D(fake) - D(real))
and G the reverse, so G's loss needs D's logits on real images too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("bce", "lsgan", "hinge", "wgan-gp", "rpgan")


def check_loss(name: str) -> str:
    if name not in LOSSES:
        raise ValueError(f"unknown loss={name!r}: use one of {', '.join(LOSSES)}")
    return name


def discriminator_loss(name: str, real_logits: torch.Tensor, fake_logits: torch.Tensor,
                       real_target: float = 1.0) -> torch.Tensor:
    """D's loss on a real batch and a fake batch; ``real_target`` < 1 is one-sided label smoothing."""
    if name == "bce":
        real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_target))
        fake = F.softplus(fake_logits).mean()  # -log(1 - sigmoid(l)) == softplus(l)
        return real + fake
    if name == "lsgan":  # least squares on the raw output (Mao et al. 2017)
        return 0.5 * ((real_logits - real_target).pow(2).mean() + fake_logits.pow(2).mean())
    if name == "hinge":
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
    if name == "wgan-gp":  # the critic's estimate of -W(real, fake); the penalty is added by the caller
        return fake_logits.mean() - real_logits.mean()
    if name == "rpgan":  # pairs (real_i, fake_i); label smoothing has no meaning for a difference of logits
        return F.softplus(fake_logits - real_logits).mean()
    raise ValueError(f"unknown loss={name!r}: use one of {', '.join(LOSSES)}")


def needs_real_logits(name: str) -> bool:
    """Whether G's loss reads D's logits on real images (a relativistic loss) as well as on its own."""
    return name == "rpgan"


def generator_loss(name: str, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """G's loss on D's logits for its own samples (and, for rpgan, on the real images they are paired with)."""
    if name == "bce":
        return F.softplus(-fake_logits).mean()  # -log sigmoid(l), the non-saturating form
    if name == "lsgan":
        return 0.5 * (fake_logits - 1.0).pow(2).mean()
    if name in ("hinge", "wgan-gp"):
        return -fake_logits.mean()
    if name == "rpgan":
        if real_logits is None:
            raise ValueError("loss=rpgan: G's loss needs D's logits on the paired real images")
        return F.softplus(real_logits - fake_logits).mean()
    raise ValueError(f"unknown loss={name!r}: use one of {', '.join(LOSSES)}")
