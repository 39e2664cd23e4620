"""The peer ``python -m benchmarks.bench`` measures the framework against: a preset's training step written by hand.

It does the same math as :meth:`cgan.model.gan.ConditionalGAN.training_step` for the methods a preset
turns on (the loss, rpgan's paired real logits included, DiffAugment on everything D sees, lazy R1 and R2 at the same interval and strength,
FastGAN's reconstruction decoder, the EMA generator with its ramp, label smoothing, k D steps per G
step), on the same nets, optimizers and batches, the way a careful person writes it without a
framework: nets in train mode, D frozen (``requires_grad_(False)``) during G's step, one G forward per
batch, the EMA a loop over parameters, Adam as PyTorch builds it by default. No speed tricks: default
memory layout, eager kernels, default threads. The ratio framework / this loop is then the cost (or gain) of Lightning, Hydra and our
defaults. ``phases`` times each part of a step (:class:`PhaseClock`) for the breakdown table.
"""

from __future__ import annotations

import copy
import time
from collections import defaultdict
from contextlib import contextmanager, nullcontext

import torch
import torch.nn.functional as F

from cgan.model import losses, penalties
from cgan.model.augment import DiffAugment

# Methods the hand-written step leaves out: a preset using one is refused, not silently mismeasured.
NOT_WRITTEN_OUT = {"acgan": "model.discriminator.conditioning=acgan", "lecam_weight": "model.penalty.lecam_weight",
                   "topk_gamma": "model.objective.topk_gamma", "ada_target": "model.augment.ada_target",
                   "gradient_clip_val": "model.optimizer.gradient_clip_val", "wgan-gp": "model.objective.loss=wgan-gp",
                   "halflife_images": "model.ema.halflife_images", "schedule": "model.optimizer.schedule"}


class PhaseClock:
    """Wall-clock seconds per named phase of a step, summed over steps (device-synchronised on GPUs,
    so a phase is charged for its own kernels)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds: dict[str, float] = defaultdict(float)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @contextmanager
    def __call__(self, phase: str):
        self._sync()
        start = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            self.seconds[phase] += time.perf_counter() - start


def unsupported_methods(model) -> list[str]:
    """The options of this ConditionalGAN that the plain loop does not write out (empty: it can be compared)."""
    o, found = model.options, []
    if model.objective.acgan:
        found.append(NOT_WRITTEN_OUT["acgan"])
    if o.objective.loss == "wgan-gp":
        found.append(NOT_WRITTEN_OUT["wgan-gp"])
    for key, value in (("lecam_weight", o.penalty.lecam_weight), ("topk_gamma", o.objective.topk_gamma),
                       ("ada_target", o.augment.ada_target), ("gradient_clip_val", o.optimizer.gradient_clip_val),
                       ("halflife_images", o.ema.halflife_images)):
        if value:
            found.append(NOT_WRITTEN_OUT[key])
    if not o.optimizer.schedule.is_constant:
        found.append(NOT_WRITTEN_OUT["schedule"])
    return found


class PlainLoop:
    """``PlainLoop(model, device).step(real, labels)`` trains model's G and D on one batch, by hand."""

    def __init__(self, model, device: torch.device, autocast_dtype: torch.dtype | None = None,
                 clock: PhaseClock | None = None):
        o = self.options = model.options
        self.conditional, self.latent_dim = model.conditional, model.latent_dim
        missing = unsupported_methods(model)
        if missing:
            raise ValueError(f"the plain loop does not write out {', '.join(missing)}, so this config is timed "
                             "through the framework only")
        self.device, self.autocast_dtype = device, autocast_dtype
        self.g, self.d = model.generator.to(device).train(), model.discriminator.to(device).train()
        self.g_ema = copy.deepcopy(self.g).requires_grad_(False).eval() if o.ema.decay else None
        # The same Adam hyperparameters; PyTorch's default implementation (the framework's are its own choice).
        opt = o.optimizer
        adam = {"betas": opt.betas, "weight_decay": opt.weight_decay or 0.0}
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=opt.lr, **adam)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=opt.d_lr_or_lr, **adam)
        self.augment = DiffAugment(o.augment.policy)
        self.decoder = getattr(self.d, "decoder", None) is not None
        self.clock = clock or (lambda phase: nullcontext())
        self.batches = 0  # batch index, as training_step's batch_idx (R1 and G-step timing)
        self.g_updates = 0

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.float32,
                              enabled=self.autocast_dtype is not None)

    def step(self, real: torch.Tensor, labels: torch.Tensor) -> None:
        o, pen, clock = self.options, self.options.penalty, self.clock
        if not self.conditional:
            labels = torch.zeros_like(labels)
        g_step_now = (self.batches + 1) % o.optimizer.d_steps_per_g_step == 0
        r1_now = pen.r1_gamma > 0 and self.batches % pen.interval == 0
        r2_now = pen.r2_gamma > 0 and self.batches % pen.interval == 0
        self.batches += 1

        with clock("G forward"), self._autocast(), torch.set_grad_enabled(g_step_now):
            fake = self.g(torch.randn(real.shape[0], self.latent_dim, device=self.device), labels)

        # D's step: real vs detached fake, both as D sees them.
        if r1_now:
            real = real.detach().requires_grad_(True)
        fake_in = fake.detach().requires_grad_(r2_now)  # R2 differentiates D at the fakes
        with self._autocast():
            with clock("augment"):
                seen_real, seen_fake = self.augment(real), self.augment(fake_in)
            with clock("D forward"):
                if self.decoder:
                    real_logits, _, redrawn = self.d.forward_with_reconstruction(seen_real, labels)
                    redrawn = redrawn.float()
                else:
                    real_logits = self.d(seen_real, labels)
                # float32 logits under bf16, as the framework: the losses and R1/R2 start from them
                real_logits, fake_logits = real_logits.float(), self.d(seen_fake, labels).float()
                d_loss = losses.discriminator_loss(o.objective.loss, real_logits, fake_logits,
                                                   real_target=1.0 - o.objective.label_smoothing)
            if self.decoder:
                with clock("decoder loss"):
                    target = F.interpolate(seen_real.detach().float(), size=redrawn.shape[-2:], mode="area")
                    d_loss = d_loss + o.objective.reconstruction_weight * F.mse_loss(redrawn, target)
        if r1_now:
            with clock("R1 penalty"):
                d_loss = d_loss + 0.5 * pen.r1_gamma * pen.interval * penalties.zero_centred_penalty(real_logits, real)
        if r2_now:
            with clock("R2 penalty"):
                d_loss = d_loss + 0.5 * pen.r2_gamma * pen.interval * penalties.zero_centred_penalty(fake_logits,
                                                                                                      fake_in)
        with clock("D backward"):
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
        with clock("D optimizer"):
            self.opt_d.step()
        if not g_step_now:
            return

        # G's step through the updated D, D's weights frozen.
        self.d.requires_grad_(False)
        with self._autocast():
            with clock("augment"):
                seen_fake = self.augment(fake)
            with clock("D forward (G step)"):
                fake_logits = self.d(seen_fake, labels).float()
                real_logits = None
                if losses.needs_real_logits(o.objective.loss):  # rpgan: each fake against its paired real, a constant
                    with torch.no_grad():
                        real_logits = self.d(self.augment(real), labels).float()
                g_loss = losses.generator_loss(o.objective.loss, fake_logits, real_logits)
        with clock("G backward"):
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
        self.d.requires_grad_(True)
        with clock("G optimizer"):
            self.opt_g.step()
        self.g_updates += 1
        if self.g_ema is not None:
            with clock("EMA update"), torch.no_grad():
                decay = o.ema.decay
                if o.ema.warmup:
                    decay = min(decay, (1 + self.g_updates) / (10 + self.g_updates))  # as GeneratorAverage's
                for ema, live in zip(self.g_ema.parameters(), self.g.parameters()):
                    ema.lerp_(live, 1.0 - decay)
                for ema, live in zip(self.g_ema.buffers(), self.g.buffers()):
                    ema.copy_(live)
