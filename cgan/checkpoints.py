"""Checkpoints: written atomically, found for resuming, and read back with clear errors.

A checkpoint of this framework is a Lightning checkpoint plus ``cgan_format``;
its ``hyper_parameters`` carry everything needed to rebuild the generator.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from cgan.errors import UserError
from cgan.renamed import upgrade_checkpoint

log = logging.getLogger(__name__)

# Bumped when the layout changes; older layouts that cgan.renamed can bring up to date are read in today's.
CHECKPOINT_FORMAT = 2


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes ``<file>.tmp`` then renames it over ``<file>``: a kill during a save leaves the
    previous checkpoint whole (a rename within one folder is atomic on POSIX and Windows)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        path = Path(path)
        if "://" in str(path):  # remote storage: fsspec does its own thing
            return super().save_checkpoint(checkpoint, path, storage_options)
        tmp = path.with_name(path.name + ".tmp")
        try:
            super().save_checkpoint(checkpoint, tmp, storage_options)
            os.replace(tmp, path)
        except OSError as err:  # a full disk, a quota, a folder that went away
            tmp.unlink(missing_ok=True)
            kept = f"the previous {path.name} is untouched and loadable" if path.is_file() else "nothing was saved"
            raise UserError(f"could not write checkpoint {path} ({err.strerror or err}); {kept}. Free some space "
                            "(or point paths.output_dir elsewhere) and resume with ckpt_path=last") from err


def newest_checkpoint(folder: Path) -> Path | None:
    """``last.ckpt`` if there, else the most recently written ``*.ckpt`` of the folder."""
    if (folder / "last.ckpt").is_file():
        return folder / "last.ckpt"
    candidates = sorted(folder.glob("*.ckpt"), key=lambda p: p.stat().st_mtime)
    return candidates[-1] if candidates else None


def resolve_resume_path(ckpt_path: str | None, run_dir: str | Path) -> Path | None:
    """What ``ckpt_path=`` names: nothing, ``last`` (this run dir's newest), ``auto`` (``last`` if there
    is one, else nothing), a run dir, or a file."""
    if ckpt_path is None:
        return None
    if ckpt_path == "auto":  # resume if this run dir has a checkpoint, else start fresh (SLURM requeue)
        folder = Path(run_dir) / "checkpoints"
        return newest_checkpoint(folder) if folder.is_dir() else None
    if ckpt_path == "last":
        folder = Path(run_dir) / "checkpoints"
        found = newest_checkpoint(folder) if folder.is_dir() else None
        if found is None:
            raise UserError(f"ckpt_path=last found no checkpoint in {folder}; to resume a run, pass its folder: "
                            "ckpt_path=last hydra.run.dir=outputs/<date>/<time> (or ckpt_path=<file>.ckpt)")
        return found
    path = Path(ckpt_path)
    if path.is_dir():
        found = newest_checkpoint(path / "checkpoints") or newest_checkpoint(path)
        if found is None:
            raise UserError(f"ckpt_path={path} is a folder without checkpoints; pass a .ckpt file or a run dir "
                            "holding checkpoints/last.ckpt")
        return found
    if not path.is_file():
        raise UserError(f"ckpt_path={path} does not exist; pass an existing .ckpt file (e.g. "
                        "outputs/<run>/checkpoints/last.ckpt), ckpt_path=last, or leave it unset to start fresh")
    return path


def best_or_last(checkpoints: Path) -> Path:
    """A run's ``best.ckpt`` (its weights at the lowest FID, the strict judge's for photos, kept when a classifier
    scored it while it trained) when it has one, else its ``last.ckpt``; says which it took."""
    best = checkpoints / "best.ckpt"
    if best.is_file():
        log.info("Using %s: the run's weights at its lowest FID while training (pass %s for its last weights)",
                 best, checkpoints / "last.ckpt")
        return best
    log.info("Using %s (the run has no best.ckpt: no classifier scored it while it trained)",
             checkpoints / "last.ckpt")
    return checkpoints / "last.ckpt"


def newest_run_checkpoint(outputs: str | Path = "outputs") -> Path:
    """The checkpoint of the run under ``outputs`` whose ``checkpoints/last.ckpt`` was written last
    (sample.py's default): its ``best.ckpt`` when it has one."""
    found = [p for p in Path(outputs).glob("**/checkpoints/last.ckpt") if p.is_file()]
    if not found:
        raise UserError(f"no ckpt_path given and no trained run under {outputs}/ (no */checkpoints/last.ckpt); "
                        "train one with python train.py, or pass ckpt_path=<run dir>")
    return best_or_last(max(found, key=lambda p: p.stat().st_mtime).parent)


def checkpoint_file(ckpt_path: str | Path) -> Path:
    """The .ckpt file that ``ckpt_path`` names: a file as it is; a run dir (or its checkpoints folder) its
    ``best.ckpt`` when training kept one, else its ``last.ckpt``, saying which."""
    path = Path(ckpt_path)
    if path.is_dir():
        for folder in (path / "checkpoints", path):
            if (folder / "last.ckpt").is_file() or (folder / "best.ckpt").is_file():
                return best_or_last(folder)
        raise UserError(f"ckpt_path={path} is a folder without checkpoints/last.ckpt; pass a run dir of train.py "
                        "or a .ckpt file (e.g. <run dir>/checkpoints/best.ckpt)")
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}; pass ckpt_path=<run dir> or <run dir>/checkpoints/last.ckpt")
    return path


def read_checkpoint(ckpt_path: str | Path) -> dict:
    """Load a checkpoint of ours on the CPU (a file, or a run dir: its last.ckpt), turning every way it
    can be wrong into one UserError."""
    path = checkpoint_file(ckpt_path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling garbage fails in many ways (KeyError, EOFError, ...)
        raise UserError(f"{path} is not a readable PyTorch checkpoint ({type(err).__name__}); "
                        "pass a .ckpt written by train.py") from err
    hparams = ckpt.get("hyper_parameters") if isinstance(ckpt, dict) else None
    if not isinstance(hparams, dict) or "generator" not in hparams or "state_dict" not in ckpt:
        raise UserError(f"{path} is not a checkpoint written by this framework's train.py "
                        "(it has no generator config); pass a .ckpt from <run dir>/checkpoints/")
    fmt = upgrade_checkpoint(ckpt).get("cgan_format")  # the model's options as flat keys: read in today's groups
    if fmt != CHECKPOINT_FORMAT:
        raise UserError(f"{path} has checkpoint format {fmt!r}, this version reads format {CHECKPOINT_FORMAT}; "
                        "use the version that wrote it, or retrain")
    return ckpt


def check_resumable(ckpt: dict, path: Path, model_hparams: dict) -> None:
    """A resumed run must build the same nets as the checkpoint's, or its weights cannot load."""
    saved = ckpt["hyper_parameters"]
    for key in ("generator", "discriminator", "latent_dim", "conditional", "data.num_classes", "data.image_shape",
                "ema.decay", "ema.halflife_images"):
        group, _, name = key.rpartition(".")
        before = saved[group][name] if group else saved[key]
        now = model_hparams[group][name] if group else model_hparams[key]
        if before != now:
            raise UserError(f"cannot resume from {path}: it was trained with model.{key}={before!r}, "
                            f"this run has {now!r}; resume with the same model and data config")


def batches_trained(trainer) -> int:
    """Batches trained so far: the x-axis of every logged scalar and picture, and what a checkpoint saves as
    ``logged_batches``. ``trainer.global_step`` counts optimizer steps (D's and G's), which would put curves
    and images of the same moment at different x positions. Inside ``on_train_batch_end`` and the training
    step it is still the current batch's index (Lightning advances it after them). The one reader of
    Lightning's private counter."""
    return trainer.fit_loop.epoch_loop._batches_that_stepped


def logged_batches(ckpt: dict) -> int:
    """The TensorBoard step (batches) of the batch the checkpoint was saved after."""
    return ckpt["loops"]["fit_loop"]["epoch_loop.state_dict"]["_batches_that_stepped"]
