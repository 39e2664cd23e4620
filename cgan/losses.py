"""Adversarial losses, all on D's raw logits.

Working on logits (softplus / BCE-with-logits) instead of Sigmoid + BCELoss is
what keeps the loss finite when D is very sure, and safe under autocast.

``bce`` is the articles' non-saturating loss: D minimises
-log D(x) - log(1 - D(G(z))) and G minimises -log D(G(z)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("bce", "lsgan", "hinge")


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
    raise ValueError(f"unknown loss={name!r}: use one of {', '.join(LOSSES)}")


def generator_loss(name: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """G's loss on D's logits for its own samples."""
    if name == "bce":
        return F.softplus(-fake_logits).mean()  # -log sigmoid(l), the non-saturating form
    if name == "lsgan":
        return 0.5 * (fake_logits - 1.0).pow(2).mean()
    if name == "hinge":
        return -fake_logits.mean()
    raise ValueError(f"unknown loss={name!r}: use one of {', '.join(LOSSES)}")
