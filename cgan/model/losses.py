"""Adversarial losses, all on D's raw logits.

Working on logits (softplus / BCE-with-logits) instead of Sigmoid + BCELoss is
what keeps the loss finite when D is very sure, and safe under autocast.

``bce`` is the articles' non-saturating loss: D minimises
-log D(x) - log(1 - D(G(z))) and G minimises -log D(G(z)). ``wgan-gp`` is the
Wasserstein critic loss; its gradient penalty (and the R1 penalty, usable with
any loss) needs D itself, so both are functions of D below.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("bce", "lsgan", "hinge", "wgan-gp")


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
    raise ValueError(f"unknown loss={name!r}: use one of {', '.join(LOSSES)}")


def generator_loss(name: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """G's loss on D's logits for its own samples."""
    if name == "bce":
        return F.softplus(-fake_logits).mean()  # -log sigmoid(l), the non-saturating form
    if name == "lsgan":
        return 0.5 * (fake_logits - 1.0).pow(2).mean()
    if name in ("hinge", "wgan-gp"):
        return -fake_logits.mean()
    raise ValueError(f"unknown loss={name!r}: use one of {', '.join(LOSSES)}")


def _input_gradient_norms(outputs: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Per-sample L2 norms of d(sum outputs)/d(inputs), kept in the graph so the penalty trains D."""
    (grad,) = torch.autograd.grad(outputs.sum(), inputs, create_graph=True)
    return grad.flatten(1).norm(2, dim=1)


def gradient_penalty(discriminator, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): mean (||grad_x D(x, y)|| - 1)^2 at random points x between
    each real image and the fake of the same label. Multiply by the weight (the paper's 10)."""
    mix = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype,
                     generator=generator)
    between = (mix * real.detach() + (1 - mix) * fake.detach()).requires_grad_(True)
    return (_input_gradient_norms(discriminator(between, labels), between) - 1).pow(2).mean()


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): mean ||grad_x D(x)||^2 on real images; ``real`` must have had
    requires_grad set before D's forward. Multiply by gamma / 2."""
    return _input_gradient_norms(real_logits, real).pow(2).mean()


def lecam_penalty(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_anchor: torch.Tensor,
                  fake_anchor: torch.Tensor) -> torch.Tensor:
    """LeCam regularisation (Tseng et al. 2021, for GANs on little data): D's logits on real images are
    pulled towards the moving average of its fake logits and the other way round, but only where
    they have drifted past it, so D cannot grow ever more confident on a memorised training set."""
    return F.relu(real_logits - fake_anchor).pow(2).mean() + F.relu(real_anchor - fake_logits).pow(2).mean()
