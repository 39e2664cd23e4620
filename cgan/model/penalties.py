"""Penalties on D, each a function of D's logits and its inputs (or of D itself), added to D's loss.

The zero-centred gradient penalties R1 (on real images, Mescheder et al. 2018) and R2 (on generated
images; R3GAN, Huang et al. 2024, pairs both: its convergence argument needs D flat on both sides) are
E ||grad_x D(x)||^2, the squared norm summed over every pixel and channel and averaged over the batch,
as in StyleGAN2 and R3GAN, so a gamma from either paper means the same here. WGAN-GP's penalty and
LeCam's regulariser complete the set.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


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


def zero_centred_penalty(logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """mean ||grad_x D(x)||^2 at ``images`` (R1 on real ones, R2 on generated ones); ``images`` must have
    had requires_grad set before D's forward. Multiply by gamma / 2."""
    return _input_gradient_norms(logits, images).pow(2).mean()


def lecam_penalty(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_anchor: torch.Tensor,
                  fake_anchor: torch.Tensor) -> torch.Tensor:
    """LeCam regularisation (Tseng et al. 2021, for GANs on little data): D's logits on real images are
    pulled towards the moving average of its fake logits and the other way round, but only where
    they have drifted past it, so D cannot grow ever more confident on a memorised training set."""
    return F.relu(real_logits - fake_anchor).pow(2).mean() + F.relu(real_anchor - fake_logits).pow(2).mean()
