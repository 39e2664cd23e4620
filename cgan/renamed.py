"""Names that moved, in one table: the model's options were flat keys (``model.r1_gamma``, ``model.ema_decay``,
...) until they were grouped by method (``model.penalty.r1_gamma``, ``model.ema.decay``; cgan/model/options.py).

An old key on the command line gets one sentence naming its new one (:func:`old_key_problem`, checked where every
command composes its config), and a checkpoint written with the flat keys is read in today's layout
(:func:`upgrade_checkpoint`, by :func:`cgan.checkpoints.read_checkpoint` and when training resumes).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# Old ``model.<key>`` -> its new place. ``schedule`` moved whole under the optimizer.
MOVED = {
    "loss": "objective.loss", "label_smoothing": "objective.label_smoothing",
    "reconstruction_weight": "objective.reconstruction_weight", "acgan_weight": "objective.acgan_weight",
    "acgan_fake_class_loss": "objective.acgan_fake_class_loss", "topk_gamma": "objective.topk_gamma",
    "topk_min_fraction": "objective.topk_min_fraction",
    "r1_gamma": "penalty.r1_gamma", "r2_gamma": "penalty.r2_gamma", "r1_interval": "penalty.interval",
    "gp_weight": "penalty.gp_weight", "lecam_weight": "penalty.lecam_weight", "lecam_decay": "penalty.lecam_decay",
    "ema_decay": "ema.decay", "ema_warmup": "ema.warmup", "ema_halflife_images": "ema.halflife_images",
    "ema_rampup": "ema.rampup",
    "ada_target": "augment.ada_target", "ada_images": "augment.ada_images", "ada_interval": "augment.ada_interval",
    "d_steps_per_g_step": "optimizer.d_steps_per_g_step", "gradient_clip_val": "optimizer.gradient_clip_val",
    "schedule": "optimizer.schedule",
    "on_nan": "guard.on_nan", "nan_check_interval": "guard.check_interval",
    "compile": "speed.compile", "channels_last": "speed.channels_last",
}
# What the data told the model, in the checkpoint's hyper_parameters (never a command-line key).
MOVED_DATA = {"num_classes": "data.num_classes", "image_shape": "data.image_shape",
              "class_names": "data.class_names", "data_interpolation": "data.interpolation"}
# ``model.augment`` was the policy list itself; now a group whose ``policy`` holds it.
MOVED_WHEN_A_LIST = {"augment": "augment.policy"}
# Method state that moved to the object that owns it (state_dict names).
MOVED_STATE = {"ada_state": "augment.ada_state", "lecam_anchors": "objective.lecam_anchors"}

# Keys that the readers of a checkpoint (sampling, resuming) take as given, with the value they had before the
# key existed: checkpoints older than the key lack it.
ADDED_LATER = {"conditional": True, "data.interpolation": None, "ema.decay": None, "ema.halflife_images": None}

# The checkpoint format that held the flat keys; the next one holds the groups.
FLAT_FORMAT = 1

_OVERRIDE = re.compile(r"^[+~]{0,2}model\.([A-Za-z_0-9]+)((?:\.[A-Za-z_0-9.]*)?)(?:=(.*))?$", re.S)


def old_key_problem(overrides: Sequence[str]) -> str | None:
    """One sentence when a command-line override names a model option by its name before the groups."""
    for override in overrides:
        match = _OVERRIDE.match(str(override))
        if not match:
            continue
        key, rest, value = match.groups()
        if key in MOVED:
            new = f"model.{MOVED[key]}{rest}"
        elif key in MOVED_WHEN_A_LIST and not rest and value is not None and value.strip().startswith("["):
            new = f"model.{MOVED_WHEN_A_LIST[key]}"
        else:
            continue
        return (f"model.{key}{rest} is now {new} (the model's options are grouped by method, see "
                f"docs/methods.md): write {new}={value if value is not None else '...'}")
    return None


def upgrade_checkpoint(ckpt: dict) -> dict:
    """A checkpoint written with the flat keys, in place, in today's layout: hyper_parameters in groups, method
    state under its owner's name, ``cgan_format`` the next one. Weights and everything else as they were;
    any other checkpoint is returned untouched."""
    if ckpt.get("cgan_format") != FLAT_FORMAT:
        return ckpt
    flat = dict(ckpt["hyper_parameters"])
    grouped: dict[str, Any] = {k: flat.pop(k) for k in ("generator", "discriminator", "latent_dim", "conditional")
                               if k in flat}
    grouped["optimizer"] = dict(flat.pop("optimizer", None) or {})
    for key, value in flat.items():
        if key in MOVED_WHEN_A_LIST and isinstance(value, (list, tuple)):
            new = MOVED_WHEN_A_LIST[key]
        else:
            new = MOVED.get(key) or MOVED_DATA.get(key)
        if new is not None:
            group, name = new.split(".", 1)
            grouped.setdefault(group, {})[name] = value
    for key, value in ADDED_LATER.items():
        group, _, name = key.rpartition(".")
        (grouped.setdefault(group, {}) if group else grouped).setdefault(name, value)
    ckpt["hyper_parameters"] = grouped
    state = ckpt.get("state_dict", {})
    for old, new in MOVED_STATE.items():
        if old in state:
            state[new] = state.pop(old)
    ckpt["cgan_format"] = FLAT_FORMAT + 1
    return ckpt
