"""The method options of :class:`~cgan.model.ConditionalGAN` checked together, each out-of-range value in
one sentence naming its key (train.py checks the common ones earlier, before any data is read)."""

from __future__ import annotations

from collections.abc import Sequence

from cgan.model.augment import parse_policy


def check_methods(*, loss: str, ema_decay: float | None, ema_halflife_images: float | None,
                  ema_rampup: float | None, r1_gamma: float, r2_gamma: float, r1_interval: int, lecam_weight: float,
                  lecam_decay: float, compile: bool, topk_gamma: float | None, topk_min_fraction: float,
                  ada_target: float | None, ada_images: int, ada_interval: int, augment: Sequence[str] | None,
                  d_steps_per_g_step: int) -> None:
    if ema_decay is not None and not 0.0 < ema_decay < 1.0:
        raise ValueError(f"model.ema_decay must be in (0, 1) or null, got {ema_decay}")
    if ema_halflife_images is not None and (ema_halflife_images <= 0 or ema_decay is not None):
        raise ValueError(f"model.ema_halflife_images={ema_halflife_images} must be positive, and replaces "
                         "model.ema_decay: set one of them, the other null")
    if ema_rampup is not None and ema_rampup <= 0:
        raise ValueError(f"model.ema_rampup must be positive or null, got {ema_rampup}")
    if r1_gamma < 0 or r2_gamma < 0 or r1_interval < 1:
        raise ValueError(f"model.r1_gamma and model.r2_gamma must be >= 0 and model.r1_interval >= 1, got "
                         f"{r1_gamma}, {r2_gamma} and {r1_interval}")
    if lecam_weight < 0 or not 0.0 < lecam_decay < 1.0:
        raise ValueError(f"model.lecam_weight must be >= 0 and model.lecam_decay in (0, 1), got {lecam_weight} "
                         f"and {lecam_decay}")
    if compile and (r1_gamma > 0 or r2_gamma > 0 or loss == "wgan-gp"):
        # torch.compile's autograd cannot differentiate a gradient (found by cgan-bench: a RuntimeError
        # from deep inside the first D step otherwise).
        raise ValueError("model.compile=true cannot train with model.r1_gamma > 0 or loss=wgan-gp: their "
                         "penalties differentiate D's gradient, which torch.compile does not support; "
                         "set model.compile=false or model.r1_gamma=0 and model.r2_gamma=0")
    if topk_gamma is not None and not (0.0 < topk_gamma <= 1.0 and 0.0 < topk_min_fraction <= 1.0):
        raise ValueError(f"model.topk_gamma must be in (0, 1] or null and model.topk_min_fraction in (0, 1], got "
                         f"{topk_gamma} and {topk_min_fraction}")
    if ada_target is not None:
        if not 0.0 < ada_target < 1.0 or ada_images < 1 or ada_interval < 1:
            raise ValueError(f"model.ada_target must be in (0, 1) or null, model.ada_images and model.ada_interval "
                             f">= 1, got {ada_target}, {ada_images} and {ada_interval}")
        if not parse_policy(augment):
            raise ValueError("model.ada_target adapts how often model.augment's operations are applied, and "
                             "model.augment is empty: set model.augment=[color,translation,cutout] or "
                             "model.ada_target=null")
    if d_steps_per_g_step < 1:
        raise ValueError(f"model.d_steps_per_g_step must be >= 1, got {d_steps_per_g_step}")
