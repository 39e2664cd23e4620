"""What a run will train, said at its start: when it stops (a time cap, epochs or steps) and, off a CPU, what
the device changed. Presets follow the device (``*_by_accelerator`` maps and ``${cgan_by_device:...}``): a
GPU run of experiment=rps_best trains 128x128 at full width for 300 epochs where a CPU run trains 64x64 at
half width for 28 minutes. Nothing here changes a value; it only says them, so a run that stops late (or
never by itself) is never a surprise."""

from __future__ import annotations

import copy
import logging
from datetime import datetime

from omegaconf import DictConfig, OmegaConf, open_dict

from cgan.training.callbacks import parse_interval

log = logging.getLogger(__name__)

# (what the sentence calls it, its key): the values a device may change in a preset
DEVICE_DEPENDENT = [
    ("photo size", "data.image_size"),
    ("batch", "data.batch_size"),
    ("G width", "model.generator.base_width"),
    ("D width", "model.discriminator.base_width"),
]


def budget_words(trainer: DictConfig) -> str:
    """When a run with these trainer settings stops, in words: 'after 28 min (trainer.max_time=00:00:28:00) or
    after 300 epochs, whichever comes first'; 'only when stopped' when nothing caps it."""
    limits = []
    if trainer.get("max_time"):
        minutes, seconds = divmod(int(parse_interval(trainer.max_time).total_seconds()), 60)
        limits.append(f"after {minutes} min" + (f" {seconds} s" if seconds else "") + f" (trainer.max_time={trainer.max_time})")
    if trainer.get("max_steps", -1) not in (None, -1):
        limits.append(f"after {trainer.max_steps} optimizer steps ({trainer.max_steps // 2} batches)")
    if trainer.get("max_epochs") not in (None, -1):
        limits.append(f"after {trainer.max_epochs} epochs")
    if not limits:
        return "only when stopped (no max_time, max_steps or max_epochs)"
    return limits[0] if len(limits) == 1 else " or ".join(limits) + ", whichever comes first"


def as_on_a_cpu(cfg: DictConfig) -> DictConfig:
    """The same config with ``trainer.accelerator=cpu``: what the preset would train on a CPU."""
    cpu = copy.deepcopy(cfg)
    with open_dict(cpu):
        cpu.trainer.accelerator = "cpu"
    return cpu


def device_differences(cfg: DictConfig) -> list[str]:
    """'photo size 128 (64 on a CPU)', ... for each device-dependent value this run has that a CPU run of the
    same command would not; the budget last."""
    if str(cfg.trainer.get("accelerator")) == "cpu":
        return []
    cpu = as_on_a_cpu(cfg)
    differences = []
    for name, key in DEVICE_DEPENDENT:
        here, there = OmegaConf.select(cfg, key), OmegaConf.select(cpu, key)
        if here != there:
            differences.append(f"{name} {here} ({there} on a CPU)")
    here, there = budget_words(cfg.trainer), budget_words(cpu.trainer)
    if here != there:
        differences.append(f"stops {here} (on a CPU: {there})")
    return differences


def end_by(trainer: DictConfig, now: datetime | None = None) -> str:
    """', by 10:09 at the latest' for a time-capped run started ``now`` (a resumed one ends sooner: its time
    so far counts); '' where no time caps it (the progress lines then give the time left)."""
    if not trainer.get("max_time"):
        return ""
    now = now or datetime.now()
    end = now + parse_interval(trainer.max_time)
    same_day = end.date() == now.date()
    return f", by {end:%H:%M}" + ("" if same_day else f" on {end:%a %d %b}") + " at the latest"


def say_the_budget(cfg: DictConfig) -> None:
    """Log when this run stops (the clock time, where a time caps it), and what its device changed against a
    CPU run of the same command."""
    log.info("This run stops %s%s", budget_words(cfg.trainer), end_by(cfg.trainer))
    differences = device_differences(cfg)
    if differences:
        log.info("On trainer.accelerator=%s this command trains differently from a CPU: %s",
                 cfg.trainer.accelerator, "; ".join(differences))


def say_where_it_writes(output_dir: str) -> None:
    """The run's folder and the TensorBoard command that watches it, at its start."""
    log.info("This run writes to %s; watch it with: tensorboard --logdir %s", output_dir, output_dir)


def longer(trainer: DictConfig) -> str:
    """The overrides that let a finished run train as long again: each of its caps doubled (time, epochs, steps:
    whichever stopped it), '' when nothing capped it."""
    caps = []
    if trainer.get("max_time"):
        days, rest = divmod(int(2 * parse_interval(trainer.max_time).total_seconds()), 86400)
        hours, rest = divmod(rest, 3600)
        caps.append(f"trainer.max_time={days:02d}:{hours:02d}:{rest // 60:02d}:{rest % 60:02d}")
    if trainer.get("max_epochs") not in (None, -1):
        caps.append(f"trainer.max_epochs={2 * trainer.max_epochs}")
    if trainer.get("max_steps", -1) not in (None, -1):
        caps.append(f"trainer.max_steps={2 * trainer.max_steps}")
    return " ".join(caps)
