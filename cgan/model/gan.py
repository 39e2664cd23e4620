"""The LightningModule: the training loop alone (manual optimization, one discriminator step then one
generator step). What is minimised is the objective's (cgan/model/objective.py); the EMA copy of G, ADA's
probability and the divergence guard are objects of their own (ema.py, ada.py, guard.py), each moving its
state after the step; the options arrive in checked groups (options.py).

Per batch (with ``optimizer.d_steps_per_g_step=k``): a D step on real vs detached fake images every batch,
and a G step every k-th batch. ``trainer.global_step`` counts every optimizer step, so with k=1 it advances
by 2 per batch; the TensorBoard x-axis counts batches (see docs/training.md, "Steps").
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf
from torch.profiler import record_function

from cgan.checkpoints import CHECKPOINT_FORMAT, batches_trained
from cgan.model import losses
from cgan.model.ada import AdaptiveAugment
from cgan.model.ema import GeneratorAverage
from cgan.model.guard import DivergenceGuard
from cgan.model.objective import GANLoss
from cgan.model.options import DataFacts, Options
from cgan.model.running_means import LossLog
from cgan.model.schedule import run_progress
from cgan.nets.build import apply_speed_options, build_discriminator, build_generator
from cgan.renamed import upgrade_checkpoint

log = logging.getLogger(__name__)


def _plain(cfg: Any) -> Any:
    """DictConfig -> dict, so hyperparameters pickle into checkpoints without omegaconf objects."""
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg


class ConditionalGAN(L.LightningModule):
    """``generator`` and ``discriminator``: ``_target_`` configs of nets (cgan/nets); ``data``: what the data
    module tells (num_classes, image_shape, class_names, interpolation); the rest: the option groups of
    conf/model_common/training.yaml (each a mapping, or None for its defaults; see options.py)."""

    def __init__(self, generator: Mapping, discriminator: Mapping, data: Mapping | DataFacts, latent_dim: int = 100,
                 conditional: bool = True, objective: Mapping | None = None, penalty: Mapping | None = None,
                 optimizer: Mapping | None = None, ema: Mapping | None = None, augment: Mapping | None = None,
                 guard: Mapping | None = None, speed: Mapping | None = None):
        super().__init__()
        generator, discriminator = _plain(generator), _plain(discriminator)
        data = data if isinstance(data, DataFacts) else DataFacts(**_plain(data))
        if not conditional:  # a plain GAN (article 001): one "class", labels ignored
            data = replace(data, num_classes=1, class_names=("any",))
        self.options = Options.from_groups(objective=_plain(objective), penalty=_plain(penalty),
                                           optimizer=_plain(optimizer), ema=_plain(ema), augment=_plain(augment),
                                           guard=_plain(guard), speed=_plain(speed))
        self.data, self.latent_dim, self.conditional = data, latent_dim, conditional
        # Everything sampling needs to rebuild G goes into the checkpoint's hyper_parameters.
        data_hparams = {**asdict(data), "image_shape": list(data.image_shape), "class_names": list(data.class_names)}
        self.save_hyperparameters({"generator": generator, "discriminator": discriminator, "data": data_hparams,
                                   "latent_dim": latent_dim, "conditional": conditional, **self.options.as_groups()})
        self.automatic_optimization = False  # two optimizers, stepped by hand below
        self.generator = build_generator(generator, latent_dim, data.num_classes, data.image_shape)
        self.discriminator = build_discriminator(discriminator, data.num_classes, data.image_shape)
        acgan = getattr(self.discriminator, "conditioning", None) == "acgan"  # D also classifies
        self.objective = GANLoss(self.options.objective, self.options.penalty, acgan=acgan)
        self.augment = AdaptiveAugment(self.options.augment)  # every image D sees, real and fake, both steps
        self.guard = DivergenceGuard(self.options.guard)
        self.loss_log = LossLog()
        self.scheduled: dict[str, float] = {}  # the scheduled values now, logged with the losses
        if self.options.objective.loss == "wgan-gp" and any(
                isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in self.discriminator.modules()):
            log.warning("model.objective.loss=wgan-gp with BatchNorm in D: the gradient penalty assumes each logit "
                        "depends on its own image only; set model.discriminator.batchnorm=false (MLP) for the textbook "
                        "method")
        # An exponential moving average of G's weights (saved in checkpoints as generator_ema.*): steadier
        # samples than the live G; grids, metrics and sample.py use it when on.
        self.generator_ema = self.ema = None
        if self.options.ema.on:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False).eval()
            self.ema = GeneratorAverage(self.options.ema, self.generator_ema)

    def setup(self, stage: str) -> None:
        apply_speed_options(self.generator, self.discriminator, **asdict(self.options.speed))

    @property
    def sampling_generator(self) -> torch.nn.Module:
        """The generator that grids, metrics and sample.py draw from: the EMA copy when on."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, device=self.device, generator=generator)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.generator(z, labels)

    # -- training ---------------------------------------------------------------------------
    def configure_optimizers(self):
        opt = self.options.optimizer
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=opt.lr, betas=opt.betas, **opt.adam_extras())
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=opt.d_lr_or_lr, betas=opt.betas,
                                 **opt.adam_extras())
        return [opt_g, opt_d]

    def _step(self, optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)  # handles AMP loss scaling and DDP gradient sync
        optimizer.step()  # under 16-mixed: unscale, on_before_optimizer_step (clipping), scaler step

    def on_before_optimizer_step(self, optimizer) -> None:
        # Lightning calls this after unscaling 16-mixed gradients, so the clip threshold is in true
        # units; Trainer(gradient_clip_val=...) is refused under manual optimization.
        if self.options.optimizer.gradient_clip_val:
            self.clip_gradients(optimizer, gradient_clip_val=self.options.optimizer.gradient_clip_val,
                                gradient_clip_algorithm="norm")

    def _sum_over_ranks(self, value: torch.Tensor) -> torch.Tensor:
        """``value`` summed over DDP ranks (itself on one device): for the statistics that decide a step,
        so every rank decides alike and the checkpoint (rank 0's) holds what every rank has."""
        if self.trainer.world_size == 1:
            return value
        return self.trainer.strategy.reduce(value.clone(), reduce_op="sum")

    def _mean_over_ranks(self, value: torch.Tensor) -> torch.Tensor:
        return self._sum_over_ranks(value) / self.trainer.world_size

    def _diverged(self, name: str, loss: torch.Tensor, batch_idx: int) -> bool:
        where = f"global step {self.global_step} (epoch {self.current_epoch}, batch {batch_idx})"
        return self.guard.skip(name, loss, batches_trained(self.trainer), where, self._sum_over_ranks)

    def _follow_schedule(self, opt_g, opt_d) -> float:
        """Learning rates and beta2 of both optimizers for this point of the run; returns R1/R2's gamma factor."""
        opt = self.options.optimizer
        if opt.schedule.is_constant:
            return 1.0
        self.scheduled = opt.schedule.apply(run_progress(self.trainer), [opt_g.optimizer, opt_d.optimizer],
                                            [opt.lr, opt.d_lr_or_lr], opt.betas[1])
        return self.scheduled["train/gamma_factor"]

    def training_step(self, batch, batch_idx: int) -> None:
        real, labels = batch
        labels = labels if self.conditional else torch.zeros_like(labels)
        if self.options.speed.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        opt_g, opt_d = self.optimizers()
        g_step_now = (batch_idx + 1) % self.options.optimizer.d_steps_per_g_step == 0
        gamma_factor = self._follow_schedule(opt_g, opt_d)

        # One G forward per batch: its output is detached for D's step and reused for G's.
        # The step/* ranges name its phases for the profiler (benchmarks/profile_step.py); microseconds otherwise.
        with torch.set_grad_enabled(g_step_now), record_function("step/G forward"):
            fake = self.generator(self.sample_noise(real.shape[0]), labels)

        with self.toggled_optimizer(opt_d):
            with record_function("step/D loss (D forward, penalties)"):
                d = self.objective.d_loss(self.discriminator, self.augment, real, fake.detach(), labels, batch_idx,
                                          gamma_factor)
            if self._diverged("d_loss", d.loss, batch_idx):
                return
            with record_function("step/D backward + optimizer"):
                self._step(opt_d, d.loss)
        self.objective.after_d_step(d, self._mean_over_ranks)  # LeCam's anchors
        self.augment.observe(self.objective.ada_statistic(d), batches_trained(self.trainer) + 1,
                             self._sum_over_ranks, self.trainer.world_size)  # ADA's p

        d_metrics = torch.stack([d.loss.detach(), torch.sigmoid(d.real_logits.detach()).mean(),
                                 torch.sigmoid(d.fake_logits.detach()).mean()])
        g_loss = None
        if g_step_now:
            with self.toggled_optimizer(opt_g):  # D frozen: no gradients computed for its weights
                with record_function("step/G loss (D forward on fakes)"):
                    g_loss = self.objective.g_loss(self.discriminator, self.augment, fake, labels, real,
                                                   self.current_epoch)
                if self._diverged("g_loss", g_loss, batch_idx):
                    return
                with record_function("step/G backward + optimizer"):
                    self._step(opt_g, g_loss)
            if self.ema is not None:
                with record_function("step/EMA update"):
                    g_updates = self.global_step // (1 + self.options.optimizer.d_steps_per_g_step)
                    self.ema.update(self.generator, g_updates, real.shape[0] * self.trainer.world_size)
            g_loss = g_loss.detach()
        self._record(d_metrics, g_loss)

    # -- logging: cheap every batch, Lightning's self.log only when the values are written ------------
    def on_train_epoch_start(self) -> None:
        self.loss_log.reset()

    def _record(self, d_metrics: torch.Tensor, g_loss: torch.Tensor | None) -> None:
        """Add this batch to the epoch means (on device, no host sync) and log the step values on the
        batches whose values reach the logger (every trainer.log_every_n_steps): self.log costs about
        a millisecond per call, as much as a whole MLP training step on a CPU."""
        self.loss_log.add(d_metrics, g_loss)
        trainer = self.trainer
        if (batches_trained(trainer) + 1) % trainer.log_every_n_steps and not trainer.should_stop:
            return
        values = self.loss_log.step_values(d_metrics, g_loss)
        if self.augment.adaptive:
            values["train/ada_p"] = self.augment.ada_state[0]
        values.update(self.scheduled)
        # sync_dist averages over DDP ranks (a no-op on one device); every rank logs on the same batches.
        self.log_dict(values, on_step=True, on_epoch=False, sync_dist=True)
        self.log("d_loss", d_metrics[0], prog_bar=True, logger=False)
        if g_loss is not None:
            self.log("g_loss", g_loss, prog_bar=True, logger=False)

    def on_train_epoch_end(self) -> None:
        means = self.loss_log.epoch_means()
        if self.options.guard.on_nan == "skip_batch":
            means["train/skipped_batches"] = float(self.guard.skipped_batches)
        if means:
            self.log_dict(means, sync_dist=True)

    def validation_step(self, batch, batch_idx: int) -> None:
        # How D judges held-out real images next to fresh fakes: a D that scores
        # training images far above held-out ones is memorising.
        real, labels = batch
        labels = labels if self.conditional else torch.zeros_like(labels)
        fake = self.generator(self.sample_noise(real.shape[0]), labels)
        real_logits = self.discriminator(real, labels)
        fake_logits = self.discriminator(fake, labels)
        self.log_dict({"val/d_loss": losses.discriminator_loss(self.options.objective.loss, real_logits, fake_logits),
                       "val/d_real_prob": torch.sigmoid(real_logits).mean(),
                       "val/d_fake_prob": torch.sigmoid(fake_logits).mean()},
                      on_epoch=True, sync_dist=True)  # averaged over DDP ranks

    # -- checkpoints ------------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        self.guard.check_weights(self.parameters(), self.global_step)
        # Every rank's random streams go in beside this (cgan.training.randomness), so a resume is exact.
        checkpoint["cgan_format"] = CHECKPOINT_FORMAT
        if self._trainer is not None:  # the precision the weights were trained in (bf16-mixed, 32-true, ...)
            checkpoint["precision"] = str(self.trainer.precision)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        upgrade_checkpoint(checkpoint)  # a checkpoint of the flat options resumes with its state renamed
