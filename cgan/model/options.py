"""The options of :class:`~cgan.model.ConditionalGAN`, one dataclass per group of ``model.*`` in conf/, each
checked once, here, where it is defined: an out-of-range value is one sentence naming its key
(``model.penalty.r1_gamma``, ...). train.py builds them before any data is read, so a bad value costs nothing.

The groups were flat keys before (``model.r1_gamma``, ``model.ema_decay``, ...): :mod:`cgan.renamed` tells an
old key on the command line its new name and reads a checkpoint written with them in these groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from cgan.model.augment import parse_policy
from cgan.model.losses import LOSSES
from cgan.model.schedule import Schedule


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _whole(value: Any, least: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


@dataclass(frozen=True)
class DataFacts:
    """What the data tells the model (the one hand-off, never set by hand): its classes, image shape and the
    filter its images were resized with (None: not resized), so sampling and evaluation know what sharpness
    the model learnt from."""

    num_classes: int
    image_shape: tuple[int, ...]
    class_names: tuple[str, ...] | None = None
    interpolation: str | None = None

    def __post_init__(self):
        names = tuple(self.class_names) if self.class_names is not None else tuple(map(str, range(self.num_classes)))
        if len(names) != self.num_classes:
            raise ValueError(f"{len(names)} class names for {self.num_classes} classes")
        object.__setattr__(self, "class_names", names)
        object.__setattr__(self, "image_shape", tuple(self.image_shape))


@dataclass(frozen=True)
class ObjectiveOptions:
    """``model.objective``: the adversarial loss and the terms beside it (cgan/model/objective.py)."""

    loss: str = "bce"
    label_smoothing: float = 0.0
    reconstruction_weight: float = 1.0
    acgan_weight: float = 1.0
    acgan_fake_class_loss: bool = True
    topk_gamma: float | None = None
    topk_min_fraction: float = 0.5

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"model.objective.loss={self.loss!r} is not one of {', '.join(LOSSES)}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"model.objective.label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.topk_gamma is not None and not (0.0 < self.topk_gamma <= 1.0 and 0.0 < self.topk_min_fraction <= 1.0):
            raise ValueError(f"model.objective.topk_gamma must be in (0, 1] or null and model.objective.topk_min_fraction "
                             f"in (0, 1], got {self.topk_gamma} and {self.topk_min_fraction}")


@dataclass(frozen=True)
class PenaltyOptions:
    """``model.penalty``: the penalties on D (cgan/model/penalties.py)."""

    r1_gamma: float = 0.0
    r2_gamma: float = 0.0
    interval: int = 1
    gp_weight: float = 10.0
    lecam_weight: float = 0.0
    lecam_decay: float = 0.99

    def __post_init__(self):
        if self.r1_gamma < 0 or self.r2_gamma < 0 or not _whole(self.interval):
            raise ValueError(f"model.penalty.r1_gamma and model.penalty.r2_gamma must be >= 0 and model.penalty.interval "
                             f">= 1, got {self.r1_gamma}, {self.r2_gamma} and {self.interval}")
        if self.lecam_weight < 0 or not 0.0 < self.lecam_decay < 1.0:
            raise ValueError(f"model.penalty.lecam_weight must be >= 0 and model.penalty.lecam_decay in (0, 1), got "
                             f"{self.lecam_weight} and {self.lecam_decay}")

    @property
    def differentiates_a_gradient(self) -> bool:
        return self.r1_gamma > 0 or self.r2_gamma > 0


@dataclass(frozen=True)
class EMAOptions:
    """``model.ema``: the moving average of G's weights (cgan/model/ema.py)."""

    decay: float | None = None
    warmup: bool = True
    halflife_images: float | None = None
    rampup: float | None = 0.05

    def __post_init__(self):
        if self.decay is not None and not (_positive(self.decay) and self.decay < 1.0):
            raise ValueError(f"model.ema.decay={self.decay!r} must be between 0 and 1 (e.g. 0.999), or null for no EMA")
        if self.halflife_images is not None and (not _positive(self.halflife_images) or self.decay is not None):
            raise ValueError(f"model.ema.halflife_images={self.halflife_images} must be positive, and replaces "
                             "model.ema.decay: set one of them, the other null")
        if self.rampup is not None and not _positive(self.rampup):
            raise ValueError(f"model.ema.rampup must be positive or null, got {self.rampup}")

    @property
    def on(self) -> bool:
        return self.decay is not None or self.halflife_images is not None


@dataclass(frozen=True)
class AugmentOptions:
    """``model.augment``: DiffAugment of every image D sees, and ADA's probability (cgan/model/ada.py)."""

    policy: tuple[str, ...] = ()
    ada_target: float | None = None
    ada_images: int = 50_000
    ada_interval: int = 4

    def __post_init__(self):
        object.__setattr__(self, "policy", parse_policy(self.policy))
        if self.ada_target is None:
            return
        if not 0.0 < self.ada_target < 1.0 or not _whole(self.ada_images) or not _whole(self.ada_interval):
            raise ValueError(f"model.augment.ada_target must be in (0, 1) or null, model.augment.ada_images and "
                             f"model.augment.ada_interval >= 1, got {self.ada_target}, {self.ada_images} and "
                             f"{self.ada_interval}")
        if not self.policy:
            raise ValueError("model.augment.ada_target adapts how often model.augment.policy's operations are applied, "
                             "and the policy is empty: set model.augment.policy=[color,translation,cutout] or "
                             "model.augment.ada_target=null")


@dataclass(frozen=True)
class OptimizerOptions:
    """``model.optimizer``: both nets' Adam, how often each steps, clipping, and the schedule that moves the
    learning rates, beta2 and the penalties' gamma over the run (cgan/model/schedule.py)."""

    lr: float = 2e-4
    d_lr: float | None = None
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float | None = None
    fused: bool | None = None
    foreach: bool | None = True  # multi-tensor Adam (conf/model_common/training.yaml says why)
    d_steps_per_g_step: int = 1
    gradient_clip_val: float | None = None
    schedule: Schedule = field(default_factory=Schedule)

    def __post_init__(self):
        for key in ("lr", "d_lr"):
            value = getattr(self, key)
            if (value is not None or key == "lr") and not _positive(value):
                raise ValueError(f"model.optimizer.{key}={value!r} must be a positive number, e.g. "
                                 f"model.optimizer.{key}=2e-4{' (or null: the same as lr)' if key == 'd_lr' else ''}")
        if not _whole(self.d_steps_per_g_step):
            raise ValueError(f"model.optimizer.d_steps_per_g_step must be >= 1, got {self.d_steps_per_g_step}")
        object.__setattr__(self, "betas", tuple(self.betas))
        if isinstance(self.schedule, Mapping):
            object.__setattr__(self, "schedule", Schedule(**self.schedule))

    @property
    def d_lr_or_lr(self) -> float:
        return self.d_lr or self.lr

    def adam_extras(self) -> dict:
        return {k: getattr(self, k) for k in ("weight_decay", "fused", "foreach") if getattr(self, k) is not None}


ON_NAN = ("stop", "skip_batch", "ignore")


@dataclass(frozen=True)
class GuardOptions:
    """``model.guard``: what a NaN/Inf loss does (cgan/model/guard.py)."""

    on_nan: str = "stop"
    check_interval: int = 1

    def __post_init__(self):
        if self.on_nan not in ON_NAN:
            raise ValueError(f"model.guard.on_nan={self.on_nan!r} is not one of {', '.join(ON_NAN)}")
        if not _whole(self.check_interval):
            raise ValueError(f"model.guard.check_interval must be >= 1, got {self.check_interval}")


@dataclass(frozen=True)
class SpeedOptions:
    """``model.speed``: kernel options that change speed, not results (cgan/nets/build.py)."""

    compile: bool = False
    channels_last: bool = True


OPTION_GROUPS = ("objective", "penalty", "optimizer", "ema", "augment", "guard", "speed")


@dataclass(frozen=True)
class Options:
    """Every group, checked together where groups meet."""

    objective: ObjectiveOptions
    penalty: PenaltyOptions
    optimizer: OptimizerOptions
    ema: EMAOptions
    augment: AugmentOptions
    guard: GuardOptions
    speed: SpeedOptions

    def __post_init__(self):
        if self.speed.compile and (self.penalty.differentiates_a_gradient or self.objective.loss == "wgan-gp"):
            # torch.compile's autograd cannot differentiate a gradient (a RuntimeError from deep inside the
            # first D step otherwise).
            raise ValueError("model.speed.compile=true cannot train with model.penalty.r1_gamma > 0, "
                             "model.penalty.r2_gamma > 0 or loss=wgan-gp: their penalties differentiate D's "
                             "gradient, which torch.compile does not support; set model.speed.compile=false or "
                             "both gammas to 0")

    @classmethod
    def from_groups(cls, **groups: Mapping | None) -> Options:
        """The groups from plain mappings (a group left out or None takes its defaults); an unknown key in a
        group is one sentence naming it."""
        built = {}
        for name, group in zip(OPTION_GROUPS, (ObjectiveOptions, PenaltyOptions, OptimizerOptions, EMAOptions,
                                               AugmentOptions, GuardOptions, SpeedOptions)):
            given = groups.get(name)
            if isinstance(given, group):
                built[name] = given
                continue
            given = dict(given or {})
            known = {f.name for f in fields(group)}
            unknown = sorted(set(given) - known)
            if unknown:
                raise ValueError(f"model.{name} has no key {unknown[0]!r}; its keys are {', '.join(sorted(known))}")
            built[name] = group(**given)
        return cls(**built)

    def as_groups(self) -> dict[str, dict]:
        """Plain dicts (lists, not tuples) for the checkpoint's hyper_parameters."""
        return {name: _plain(asdict(getattr(self, name))) for name in OPTION_GROUPS}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
