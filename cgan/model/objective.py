"""The objective: what D and G minimise, in one object the loop calls once per phase.

D's loss is the adversarial loss (cgan/model/losses.py) on real and fake images as D sees them (augmented
when on), plus what the options add: FastGAN's reconstruction term, ACGAN's class loss, WGAN-GP's gradient
penalty, the zero-centred R1/R2 penalties (lazy, every ``interval``-th batch) and LeCam's regulariser
(cgan/model/penalties.py). G's loss is the adversarial loss on its fakes (against the paired reals under a
relativistic loss), on the top-k fakes when top-k is on, plus ACGAN's class loss.

The losses read D's outputs in float32 whatever the precision: under bf16-mixed on a CPU, autocast leaves
softplus, exp, log and pow in bf16 (CUDA upcasts them), and StyleGAN2-ADA too computes its losses and
penalties in float32. The one state the objective owns, LeCam's moving averages of D's logits, moves in
:meth:`GANLoss.after_d_step`, after D's step, never inside a loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.profiler import record_function

from cgan.model import losses, penalties
from cgan.model.options import ObjectiveOptions, PenaltyOptions


def to_float32(*tensors: torch.Tensor | None) -> tuple:
    """The tensors in float32 (None stays None)."""
    return tuple(t.float() if t is not None else None for t in tensors)


class DiscriminatorLoss(NamedTuple):
    loss: torch.Tensor
    real_logits: torch.Tensor  # in float32, for the statistics that follow the step (ADA, LeCam, logging)
    fake_logits: torch.Tensor


class GANLoss(nn.Module):
    """``d_loss`` and ``g_loss`` for the chosen loss and terms. ``acgan``: D also classifies (its
    ``conditioning`` is acgan, cgan/nets/conditioning.py). A module only for LeCam's anchors (saved, for
    resume, as ``objective.lecam_anchors``)."""

    def __init__(self, options: ObjectiveOptions, penalty: PenaltyOptions, acgan: bool = False):
        super().__init__()
        self.options, self.penalty, self.acgan = options, penalty, acgan
        if penalty.lecam_weight > 0:  # the moving averages of D's real and fake logits
            self.register_buffer("lecam_anchors", torch.zeros(2))

    @staticmethod
    def outputs(discriminator: nn.Module, augment: Callable, images: torch.Tensor, labels: torch.Tensor):
        """D's logits and (acgan) class logits for images as D sees them, in float32."""
        return to_float32(*discriminator(augment(images), labels, return_class_logits=True))

    def d_loss(self, discriminator: nn.Module, augment: Callable, real: torch.Tensor, fake: torch.Tensor,
               labels: torch.Tensor, batch_idx: int, gamma_factor: float = 1.0) -> DiscriminatorLoss:
        """D's loss on a real and a (detached) fake batch. ``gamma_factor``: R1/R2's strength now (the schedule's)."""
        opts, pen = self.options, self.penalty
        penalise = batch_idx % pen.interval == 0  # lazy: R1 and R2 every interval-th batch
        r1_now = pen.r1_gamma > 0 and penalise
        r2_now = pen.r2_gamma > 0 and penalise
        if r1_now:  # R1 differentiates D's output with respect to the real images, R2 to the fakes
            real = real.detach().requires_grad_(True)
        if r2_now:
            fake = fake.detach().requires_grad_(True)
        if getattr(discriminator, "decoder", None) is not None:  # FastGAN: D also redraws real images
            seen = augment(real)
            real_logits, real_classes, redrawn = to_float32(*discriminator.forward_with_reconstruction(seen, labels))
            target = F.interpolate(seen.detach().float(), size=redrawn.shape[-2:], mode="area")
            reconstruction = opts.reconstruction_weight * F.mse_loss(redrawn, target)
        else:
            real_logits, real_classes = self.outputs(discriminator, augment, real, labels)
            reconstruction = 0.0
        fake_logits, fake_classes = self.outputs(discriminator, augment, fake, labels)
        loss = losses.discriminator_loss(opts.loss, real_logits, fake_logits, real_target=1.0 - opts.label_smoothing)
        loss = loss + reconstruction
        if self.acgan:  # D learns the class of real (and, as in Odena et al., of fake) images
            class_loss = F.cross_entropy(real_classes, labels)
            if opts.acgan_fake_class_loss:
                class_loss = class_loss + F.cross_entropy(fake_classes, labels)
            loss = loss + opts.acgan_weight * class_loss
        if opts.loss == "wgan-gp":  # penalised at un-augmented points between real and fake
            loss = loss + pen.gp_weight * penalties.gradient_penalty(discriminator, real, fake, labels)
        # Lazy penalties are scaled up by the interval to the same average strength.
        scale = 0.5 * pen.interval * gamma_factor
        if r1_now:
            with record_function("step/R1 gradient"):  # its second derivative runs in D's backward
                loss = loss + scale * pen.r1_gamma * penalties.zero_centred_penalty(real_logits, real)
        if r2_now:
            with record_function("step/R2 gradient"):
                loss = loss + scale * pen.r2_gamma * penalties.zero_centred_penalty(fake_logits, fake)
        if pen.lecam_weight > 0:
            anchors = self.lecam_anchors
            loss = loss + pen.lecam_weight * penalties.lecam_penalty(real_logits, fake_logits, anchors[0], anchors[1])
        return DiscriminatorLoss(loss, real_logits, fake_logits)

    @torch.no_grad()
    def after_d_step(self, step: DiscriminatorLoss, mean_over_ranks: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """LeCam's anchors follow the means of D's logits (the same on every rank: ``mean_over_ranks``)."""
        if self.penalty.lecam_weight > 0:
            anchors = self.lecam_anchors
            means = torch.stack([step.real_logits.detach().mean(), step.fake_logits.detach().mean()]).to(anchors.dtype)
            anchors.lerp_(mean_over_ranks(means), 1.0 - self.penalty.lecam_decay)

    def ada_statistic(self, step: DiscriminatorLoss) -> torch.Tensor:
        """How sure D is of the reals, for ADA: its logits on them, or under a relativistic loss, whose logits
        mean something only against each other, real minus paired fake."""
        if losses.needs_real_logits(self.options.loss):
            return step.real_logits - step.fake_logits.detach()
        return step.real_logits

    def topk_now(self, batch_size: int, epoch: int) -> int:
        """How many of a batch's fakes the G step learns from: top-k training (Sinha et al. 2020) keeps the
        k that D finds most real, k = max(topk_gamma ** epoch, topk_min_fraction) of the batch."""
        gamma = self.options.topk_gamma
        if gamma is None:
            return batch_size
        fraction = max(gamma ** epoch, self.options.topk_min_fraction)
        return max(1, min(batch_size, math.ceil(fraction * batch_size)))

    def g_loss(self, discriminator: nn.Module, augment: Callable, fake: torch.Tensor, labels: torch.Tensor,
               real: torch.Tensor, epoch: int) -> torch.Tensor:
        """G's loss on its fakes (under a relativistic loss, against D's logits on the paired ``real`` images)."""
        fake_logits, fake_classes = self.outputs(discriminator, augment, fake, labels)
        real_logits = None
        if losses.needs_real_logits(self.options.loss):  # relativistic: each fake against its paired real
            with torch.no_grad():  # a constant to G: only D's weights lie behind it, and they are not stepped
                real_logits = self.outputs(discriminator, augment, real, labels)[0]
        k = self.topk_now(len(fake_logits), epoch)
        if k < len(fake_logits):  # top-k: learn only from the fakes D finds most real (higher logit: more real)
            keep = fake_logits.topk(k).indices
            fake_logits, labels = fake_logits[keep], labels[keep]
            fake_classes = fake_classes[keep] if fake_classes is not None else None
            real_logits = real_logits[keep] if real_logits is not None else None
        loss = losses.generator_loss(self.options.loss, fake_logits, real_logits)
        if self.acgan:  # G's images must be classified as the class asked for
            loss = loss + self.options.acgan_weight * F.cross_entropy(fake_classes, labels)
        return loss
