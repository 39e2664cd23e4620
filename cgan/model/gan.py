"""The LightningModule: manual optimization, one discriminator step then one generator step.

Per batch (with ``d_steps_per_g_step=k``): a D step on real vs detached fake
images every batch, and a G step every k-th batch. ``trainer.global_step``
counts every optimizer step, so with k=1 it advances by 2 per batch; the
TensorBoard x-axis counts batches (see docs/training.md, "Steps").
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from torch.profiler import record_function

from cgan.checkpoints import CHECKPOINT_FORMAT, batches_trained
from cgan.errors import TrainingDiverged
from cgan.model import ada, ema, losses, penalties
from cgan.model.augment import DiffAugment, parse_policy
from cgan.model.options import check_methods
from cgan.model.schedule import Schedule, run_progress
from cgan.nets.build import build_discriminator, build_generator

log = logging.getLogger(__name__)

# What to do when a loss is NaN/Inf (G's output going NaN shows in d_loss): stop (clear error, saved
# checkpoints untouched), skip_batch (no update from that batch, counted in train/skipped_batches),
# ignore (no check, no host sync).
ON_NAN = ("stop", "skip_batch", "ignore")


def to_float32(*tensors: torch.Tensor | None) -> tuple:
    """The tensors in float32 (None stays None). Under bf16-mixed on a CPU, autocast leaves softplus, exp,
    log and pow in bf16 (CUDA upcasts them): D's outputs are cast before any loss or penalty reads them,
    as StyleGAN2-ADA computes its losses and penalties in float32."""
    return tuple(t.float() if t is not None else None for t in tensors)


def _plain(cfg: Any) -> Any:
    """DictConfig -> dict, so hyperparameters pickle into checkpoints without omegaconf objects."""
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg


def apply_speed_options(generator: torch.nn.Module, discriminator: torch.nn.Module, hparams) -> None:
    """Kernel options that change speed, not results: channels_last memory layout for conv nets,
    and torch.compile of both nets in place (state_dict keys unchanged, so checkpoints stay portable)."""
    if hparams.get("channels_last"):
        generator.to(memory_format=torch.channels_last)
        discriminator.to(memory_format=torch.channels_last)
    if hparams.get("compile"):
        generator.compile()
        discriminator.compile()


class ConditionalGAN(L.LightningModule):
    def __init__(
        self,
        generator: Mapping,
        discriminator: Mapping,
        num_classes: int,
        image_shape: Sequence[int],
        class_names: Sequence[str] | None = None,
        latent_dim: int = 100,
        loss: str = "bce",
        optimizer: Mapping | None = None,
        d_steps_per_g_step: int = 1,
        label_smoothing: float = 0.0,
        gradient_clip_val: float | None = None,
        conditional: bool = True,
        on_nan: str = "stop",
        nan_check_interval: int = 1,
        compile: bool = False,
        channels_last: bool = False,
        ema_decay: float | None = None,
        ema_warmup: bool = True,
        ema_halflife_images: float | None = None,
        ema_rampup: float | None = 0.05,
        gp_weight: float = 10.0,
        r1_gamma: float = 0.0,
        r1_interval: int = 1,
        r2_gamma: float = 0.0,
        schedule: Mapping | None = None,
        acgan_weight: float = 1.0,
        acgan_fake_class_loss: bool = True,
        augment: Sequence[str] | None = (),
        lecam_weight: float = 0.0,
        lecam_decay: float = 0.99,
        reconstruction_weight: float = 1.0,
        topk_gamma: float | None = None,
        topk_min_fraction: float = 0.5,
        ada_target: float | None = None,
        ada_images: int = 50_000,
        ada_interval: int = 4,
        data_interpolation: str | None = None,
    ):
        super().__init__()
        if on_nan not in ON_NAN:
            raise ValueError(f"model.on_nan={on_nan!r} is not one of {', '.join(ON_NAN)}")
        generator, discriminator, optimizer = _plain(generator), _plain(discriminator), _plain(optimizer)
        if not conditional:  # a plain GAN (article 001): one "class", labels ignored
            num_classes, class_names = 1, ["any"]
        class_names = list(class_names) if class_names is not None else [str(i) for i in range(num_classes)]
        if len(class_names) != num_classes:
            raise ValueError(f"{len(class_names)} class names for {num_classes} classes")
        check_methods(loss=loss, ema_decay=ema_decay, ema_halflife_images=ema_halflife_images, ema_rampup=ema_rampup,
                      r1_gamma=r1_gamma, r2_gamma=r2_gamma, r1_interval=r1_interval, lecam_weight=lecam_weight,
                      lecam_decay=lecam_decay, compile=compile, topk_gamma=topk_gamma,
                      topk_min_fraction=topk_min_fraction, ada_target=ada_target, ada_images=ada_images,
                      ada_interval=ada_interval, augment=augment, d_steps_per_g_step=d_steps_per_g_step)
        schedule = Schedule(**_plain(schedule or {}))
        optimizer = {"lr": 2e-4, "betas": (0.5, 0.999), **(optimizer or {})}
        if optimizer["lr"] <= 0 or (optimizer.get("d_lr") is not None and optimizer["d_lr"] <= 0):
            raise ValueError(f"model.optimizer learning rates must be positive, got {optimizer}")
        # Everything sampling needs to rebuild G goes into the checkpoint's hyper_parameters.
        self.save_hyperparameters(
            {
                "generator": generator,
                "discriminator": discriminator,
                "num_classes": num_classes,
                "image_shape": list(image_shape),
                "class_names": class_names,
                "latent_dim": latent_dim,
                "loss": losses.check_loss(loss),
                "optimizer": optimizer,
                "d_steps_per_g_step": d_steps_per_g_step,
                "label_smoothing": label_smoothing,
                "gradient_clip_val": gradient_clip_val,
                "conditional": conditional,
                "on_nan": on_nan,
                "nan_check_interval": nan_check_interval,
                "compile": compile,
                "channels_last": channels_last,
                "ema_decay": ema_decay,
                "ema_warmup": ema_warmup,
                "ema_halflife_images": ema_halflife_images,
                "ema_rampup": ema_rampup,
                "gp_weight": gp_weight,
                "r1_gamma": r1_gamma,
                "r1_interval": r1_interval,
                "r2_gamma": r2_gamma,
                "schedule": dict(vars(schedule)),
                "acgan_weight": acgan_weight,
                "acgan_fake_class_loss": acgan_fake_class_loss,
                "augment": list(parse_policy(augment)),
                "lecam_weight": lecam_weight,
                "lecam_decay": lecam_decay,
                "reconstruction_weight": reconstruction_weight,
                "topk_gamma": topk_gamma,
                "topk_min_fraction": topk_min_fraction,
                "ada_target": ada_target,
                "ada_images": ada_images,
                "ada_interval": ada_interval,
                # The filter the training images were resized with (None: not resized), so sampling and
                # evaluation know what sharpness the model learnt from.
                "data_interpolation": data_interpolation,
            }
        )
        self.automatic_optimization = False  # two optimizers, stepped by hand below
        self.schedule = schedule
        self._gamma_factor = 1.0  # R1/R2 gamma's factor now (the schedule's)
        self.scheduled: dict[str, float] = {}  # the scheduled values now, logged with the losses
        self._batch_size = 0
        self.skipped_batches = 0  # batches dropped by on_nan=skip_batch
        self._reset_epoch_sums()  # a run resumed mid-epoch starts without on_train_epoch_start
        self.generator = build_generator(generator, latent_dim, num_classes, image_shape)
        self.discriminator = build_discriminator(discriminator, num_classes, image_shape)
        # acgan: D also classifies, and both nets add the class loss (cgan/nets/conditioning.py).
        self.acgan = getattr(self.discriminator, "conditioning", None) == "acgan"
        # Applied to every image D sees, real and fake, in both steps (no parameters, nothing saved).
        self.augment = DiffAugment(augment)
        if loss == "wgan-gp" and any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                                     for m in self.discriminator.modules()):
            log.warning("loss=wgan-gp with BatchNorm in D: the gradient penalty assumes each logit depends on "
                        "its own image only; set model.discriminator.batchnorm=false (MLP) for the textbook method")
        if ada_target is not None:  # ADA: [augmentation probability p, sum of sign(D(real)) since the last update]
            self.register_buffer("ada_state", torch.zeros(2))
        if lecam_weight > 0:  # LeCam's moving averages of D's real and fake logits (saved, for resume)
            self.register_buffer("lecam_anchors", torch.zeros(2))
        # An exponential moving average of G's weights (saved in checkpoints as generator_ema.*): steadier
        # samples than the live G; grids, metrics and sample.py use it when on.
        self.generator_ema = None
        if ema_decay is not None or ema_halflife_images is not None:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False).eval()

    def setup(self, stage: str) -> None:
        apply_speed_options(self.generator, self.discriminator, self.hparams)

    # -- what callbacks and sampling use ------------------------------------------------------
    @property
    def sampling_generator(self) -> torch.nn.Module:
        """The generator that grids, metrics and sample.py draw from: the EMA copy when on."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    def ema_decay_now(self) -> float:
        """The EMA's decay for this G update: ``ema_decay`` (ramped in when ``ema_warmup``), or the decay of
        ``ema_halflife_images`` at this batch size (ramped by images seen) (:mod:`cgan.model.ema`)."""
        hp = self.hparams
        g_updates = self.global_step // (1 + hp.d_steps_per_g_step)
        if hp.get("ema_halflife_images") is None:
            return ema.decay_by_count(hp.ema_decay, g_updates, hp.ema_warmup)
        batch_images = self._batch_size * self.trainer.world_size  # every rank's batch moves G
        return ema.decay_by_halflife(batch_images, hp.ema_halflife_images, g_updates * batch_images, hp.ema_rampup)

    def update_ema(self) -> None:
        ema.update_average(self.generator_ema, self.generator, self.ema_decay_now())

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.hparams.latent_dim, device=self.device, generator=generator)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.generator(z, labels)

    # -- training ---------------------------------------------------------------------------
    def configure_optimizers(self):
        opt = self.hparams.optimizer
        betas = tuple(opt["betas"])
        d_lr = opt.get("d_lr") or opt["lr"]
        extra = {k: opt[k] for k in ("weight_decay", "fused", "foreach") if opt.get(k) is not None}
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=opt["lr"], betas=betas, **extra)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=d_lr, betas=betas, **extra)
        return [opt_g, opt_d]

    def _step(self, optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)  # handles AMP loss scaling and DDP gradient sync
        optimizer.step()  # under 16-mixed: unscale, on_before_optimizer_step (clipping), scaler step

    def on_before_optimizer_step(self, optimizer) -> None:
        # Lightning calls this after unscaling 16-mixed gradients, so the clip threshold is in true
        # units; Trainer(gradient_clip_val=...) is refused under manual optimization.
        if self.hparams.gradient_clip_val:
            self.clip_gradients(optimizer, gradient_clip_val=self.hparams.gradient_clip_val,
                                gradient_clip_algorithm="norm")

    def _diverged(self, name: str, loss: torch.Tensor) -> bool:
        """True when this batch must be skipped; raises under on_nan=stop. One host sync per call.

        A NaN/Inf in G's output reaches d_loss through D(fake), so checking the losses covers it.
        """
        if self.hparams.on_nan == "ignore":
            return False
        interval = self.hparams.get("nan_check_interval", 1)
        if interval > 1 and (batches_trained(self.trainer) + 1) % interval:
            return False  # checked every `interval` batches; checkpoints are still never written from NaN weights
        not_finite = (~torch.isfinite(loss.detach())).float()
        if not bool(self._sum_over_ranks(not_finite)):  # every rank skips or stops alike, or DDP would hang
            return False
        what = f"{name} is {loss.item()}" + (" on this rank" if bool(not_finite) else " on another rank")
        if self.hparams.on_nan == "skip_batch":
            self.skipped_batches += 1
            log.warning("Skipping batch %d of epoch %d: %s", self.trainer.fit_loop.epoch_loop.batch_idx,
                        self.current_epoch, what)
            return True
        raise TrainingDiverged(
            f"training diverged at global step {self.global_step} (epoch {self.current_epoch}): {what}; "
            "checkpoints saved before are untouched. Lower model.optimizer.lr, set model.gradient_clip_val, "
            "or set model.on_nan=skip_batch to skip such batches"
        )

    def _labels(self, labels: torch.Tensor) -> torch.Tensor:
        return labels if self.hparams.conditional else torch.zeros_like(labels)

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        """Images as D sees them: DiffAugment when on, each operation with ADA's probability p when adaptive."""
        probability = self.ada_state[0] if self.hparams.get("ada_target") is not None else None
        return self.augment(images, probability=probability)

    def _d_outputs(self, images: torch.Tensor, labels: torch.Tensor):
        """D's logits and (acgan) class logits, for images as D sees them: augmented when on. In float32
        whatever the precision: the losses and R1/R2's double backward start from them."""
        return to_float32(*self.discriminator(self._augment(images), labels, return_class_logits=True))

    def _sum_over_ranks(self, value: torch.Tensor) -> torch.Tensor:
        """``value`` summed over DDP ranks (itself on one device): for the statistics that decide a step,
        so every rank decides alike and the checkpoint (rank 0's) holds what every rank has."""
        if self.trainer.world_size == 1:
            return value
        return self.trainer.strategy.reduce(value.clone(), reduce_op="sum")

    def _update_ada(self, real_logits: torch.Tensor) -> None:
        hp = self.hparams
        batches = batches_trained(self.trainer) + 1  # saved, so a resume keeps the phase
        ada.update(self.ada_state, real_logits, batches, hp.ada_target, hp.ada_interval, hp.ada_images,
                   sum_over_ranks=self._sum_over_ranks, world_size=self.trainer.world_size)

    def _follow_schedule(self, opt_g, opt_d) -> None:
        """Learning rates and beta2 of both optimizers, and the R1/R2 gamma factor, for this point of the run."""
        if self.schedule.is_constant:
            return
        opt = self.hparams.optimizer
        self.scheduled = self.schedule.apply(run_progress(self.trainer), [opt_g.optimizer, opt_d.optimizer],
                                             [opt["lr"], opt.get("d_lr") or opt["lr"]], opt["betas"][1])
        self._gamma_factor = self.scheduled["train/gamma_factor"]

    def topk_now(self, batch_size: int) -> int:
        """How many of a batch's fakes the G step learns from: top-k training (Sinha et al. 2020) keeps the
        k that D finds most real, k = max(topk_gamma ** epoch, topk_min_fraction) of the batch."""
        gamma = self.hparams.get("topk_gamma")
        if gamma is None:
            return batch_size
        fraction = max(gamma ** self.current_epoch, self.hparams.topk_min_fraction)
        return max(1, min(batch_size, math.ceil(fraction * batch_size)))

    def _discriminator_loss(self, real, fake, labels, batch_idx: int):
        """(D's loss with its class loss and penalties, real logits, fake logits)."""
        hp = self.hparams
        penalise = batch_idx % hp.r1_interval == 0  # lazy: R1 and R2 every r1_interval-th batch
        r1_now = hp.r1_gamma > 0 and penalise
        r2_now = hp.get("r2_gamma", 0) > 0 and penalise
        if r1_now:  # R1 differentiates D's output with respect to the real images, R2 to the fakes
            real = real.detach().requires_grad_(True)
        if r2_now:
            fake = fake.detach().requires_grad_(True)
        if getattr(self.discriminator, "decoder", None) is not None:  # FastGAN: D also redraws real images
            seen = self._augment(real)
            real_logits, real_classes, redrawn = to_float32(*self.discriminator.forward_with_reconstruction(seen, labels))
            target = F.interpolate(seen.detach().float(), size=redrawn.shape[-2:], mode="area")
            reconstruction = hp.reconstruction_weight * F.mse_loss(redrawn, target)
        else:
            real_logits, real_classes = self._d_outputs(real, labels)
            reconstruction = 0.0
        fake_logits, fake_classes = self._d_outputs(fake, labels)
        loss = losses.discriminator_loss(hp.loss, real_logits, fake_logits, real_target=1.0 - hp.label_smoothing)
        loss = loss + reconstruction
        if self.acgan:  # D learns the class of real (and, as in Odena et al., of fake) images
            class_loss = F.cross_entropy(real_classes, labels)
            if hp.acgan_fake_class_loss:
                class_loss = class_loss + F.cross_entropy(fake_classes, labels)
            loss = loss + hp.acgan_weight * class_loss
        if hp.loss == "wgan-gp":  # penalised at un-augmented points between real and fake
            loss = loss + hp.gp_weight * penalties.gradient_penalty(self.discriminator, real, fake, labels)
        # Lazy penalties are scaled up by the interval to the same average strength; gamma follows the schedule.
        scale = 0.5 * hp.r1_interval * self._gamma_factor
        if r1_now:
            with record_function("step/R1 gradient"):  # its second derivative runs in D's backward
                loss = loss + scale * hp.r1_gamma * penalties.zero_centred_penalty(real_logits, real)
        if r2_now:
            with record_function("step/R2 gradient"):
                loss = loss + scale * hp.r2_gamma * penalties.zero_centred_penalty(fake_logits, fake)
        if hp.get("lecam_weight", 0) > 0:
            anchors = self.lecam_anchors
            loss = loss + hp.lecam_weight * penalties.lecam_penalty(real_logits, fake_logits, anchors[0], anchors[1])
            with torch.no_grad():
                means = torch.stack([real_logits.detach().mean(), fake_logits.detach().mean()]).to(anchors.dtype)
                means = self._sum_over_ranks(means) / self.trainer.world_size  # the same anchors on every rank
                anchors.lerp_(means, 1.0 - hp.lecam_decay)
        if hp.get("ada_target") is not None:
            # How sure D is of the reals: the sign of its logit, or under a relativistic loss, whose logits
            # mean something only against each other, the sign of real minus paired fake.
            relative = losses.needs_real_logits(hp.loss)
            self._update_ada(real_logits - fake_logits.detach() if relative else real_logits)
        return loss, real_logits, fake_logits

    def _generator_loss(self, fake, labels, real=None) -> torch.Tensor:
        """G's loss on its fakes (under a relativistic loss, against D's logits on the paired ``real`` images)."""
        fake_logits, fake_classes = self._d_outputs(fake, labels)
        real_logits = None
        if losses.needs_real_logits(self.hparams.loss):  # relativistic: each fake against its paired real
            with torch.no_grad():  # a constant to G: only D's weights lie behind it, and they are not stepped
                real_logits = self._d_outputs(real, labels)[0]
        k = self.topk_now(len(fake_logits))
        if k < len(fake_logits):  # top-k: learn only from the fakes D finds most real (higher logit: more real)
            keep = fake_logits.topk(k).indices
            fake_logits, labels = fake_logits[keep], labels[keep]
            fake_classes = fake_classes[keep] if fake_classes is not None else None
            real_logits = real_logits[keep] if real_logits is not None else None
        loss = losses.generator_loss(self.hparams.loss, fake_logits, real_logits)
        if self.acgan:  # G's images must be classified as the class asked for
            loss = loss + self.hparams.acgan_weight * F.cross_entropy(fake_classes, labels)
        return loss

    def training_step(self, batch, batch_idx: int) -> None:
        real, labels = batch
        labels = self._labels(labels)
        if self.hparams.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        opt_g, opt_d = self.optimizers()
        g_step_now = (batch_idx + 1) % self.hparams.d_steps_per_g_step == 0
        self._batch_size = real.shape[0]
        self._follow_schedule(opt_g, opt_d)

        # One G forward per batch: its output is detached for D's step and reused for G's.
        # The step/* ranges name its phases for the profiler (cgan.tools.profile_step); microseconds otherwise.
        with torch.set_grad_enabled(g_step_now), record_function("step/G forward"):
            fake = self.generator(self.sample_noise(real.shape[0]), labels)

        with self.toggled_optimizer(opt_d):
            with record_function("step/D loss (D forward, penalties)"):
                d_loss, real_logits, fake_logits = self._discriminator_loss(real, fake.detach(), labels, batch_idx)
            if self._diverged("d_loss", d_loss):
                return
            with record_function("step/D backward + optimizer"):
                self._step(opt_d, d_loss)

        d_metrics = torch.stack([d_loss.detach(), torch.sigmoid(real_logits.detach()).mean(),
                                 torch.sigmoid(fake_logits.detach()).mean()])
        g_loss = None
        if g_step_now:
            with self.toggled_optimizer(opt_g):  # D frozen: no gradients computed for its weights
                with record_function("step/G loss (D forward on fakes)"):
                    g_loss = self._generator_loss(fake, labels, real)
                if self._diverged("g_loss", g_loss):
                    return
                with record_function("step/G backward + optimizer"):
                    self._step(opt_g, g_loss)
            if self.generator_ema is not None:
                with record_function("step/EMA update"):
                    self.update_ema()
            g_loss = g_loss.detach()
        self._record(d_metrics, g_loss)

    # -- logging: cheap every batch, Lightning's self.log only when the values are written ------------
    D_METRICS = ("train/d_loss", "train/d_real_prob", "train/d_fake_prob")

    def _reset_epoch_sums(self) -> None:
        self._d_sum, self._g_sum, self._d_count, self._g_count = 0, 0, 0, 0

    def on_train_epoch_start(self) -> None:
        self._reset_epoch_sums()

    def _record(self, d_metrics: torch.Tensor, g_loss: torch.Tensor | None) -> None:
        """Add this batch to the epoch means (on device, no host sync) and log the step values on the
        batches whose values reach the logger (every trainer.log_every_n_steps): self.log costs about
        a millisecond per call, as much as a whole MLP training step on a CPU."""
        self._d_sum, self._d_count = self._d_sum + d_metrics, self._d_count + 1
        if g_loss is not None:
            self._g_sum, self._g_count = self._g_sum + g_loss, self._g_count + 1
        trainer = self.trainer
        batches = batches_trained(trainer) + 1
        if batches % trainer.log_every_n_steps and not trainer.should_stop:
            return
        values = dict(zip((f"{k}_step" for k in self.D_METRICS), d_metrics))
        if g_loss is not None:
            values["train/g_loss_step"] = g_loss
        if self.hparams.get("ada_target") is not None:
            values["train/ada_p"] = self.ada_state[0]
        values.update(self.scheduled)
        # sync_dist averages over DDP ranks (a no-op on one device); every rank logs on the same batches.
        self.log_dict(values, on_step=True, on_epoch=False, sync_dist=True)
        self.log("d_loss", d_metrics[0], prog_bar=True, logger=False)
        if g_loss is not None:
            self.log("g_loss", g_loss, prog_bar=True, logger=False)

    def on_train_epoch_end(self) -> None:
        means = {}
        if self._d_count:
            means.update(zip((f"{k}_epoch" for k in self.D_METRICS), self._d_sum / self._d_count))
        if self._g_count:
            means["train/g_loss_epoch"] = self._g_sum / self._g_count
        if self.hparams.on_nan == "skip_batch":
            means["train/skipped_batches"] = float(self.skipped_batches)
        if means:
            self.log_dict(means, sync_dist=True)

    def validation_step(self, batch, batch_idx: int) -> None:
        # How D judges held-out real digits next to fresh fakes: a D that scores
        # training images far above held-out ones is memorising.
        real, labels = batch
        labels = self._labels(labels)
        fake = self.generator(self.sample_noise(real.shape[0]), labels)
        real_logits = self.discriminator(real, labels)
        fake_logits = self.discriminator(fake, labels)
        self.log_dict(
            {
                "val/d_loss": losses.discriminator_loss(self.hparams.loss, real_logits, fake_logits),
                "val/d_real_prob": torch.sigmoid(real_logits).mean(),
                "val/d_fake_prob": torch.sigmoid(fake_logits).mean(),
            },
            on_epoch=True,
            sync_dist=True,  # averaged over DDP ranks
        )

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # A step with finite loss can still leave NaN weights (an Inf gradient): never let such
        # weights overwrite a good checkpoint.
        if self.hparams.on_nan != "ignore" and not all(torch.isfinite(p).all() for p in self.parameters()):
            raise TrainingDiverged(
                f"training diverged at global step {self.global_step}: the weights hold NaN/Inf values, so no "
                "checkpoint was written and the earlier ones are untouched. Lower model.optimizer.lr or set "
                "model.gradient_clip_val"
            )
        # Every rank's random streams go in beside this (cgan.training.randomness), so a resume is exact.
        checkpoint["cgan_format"] = CHECKPOINT_FORMAT
        if self._trainer is not None:  # the precision the weights were trained in (bf16-mixed, 32-true, ...)
            checkpoint["precision"] = str(self.trainer.precision)
