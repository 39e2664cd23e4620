"""Build everything from a composed Hydra config and fit it.

``cgan-train`` (train.py) is a thin Hydra wrapper around :func:`train`; tests and the tools call it
directly with a config from :func:`cgan.config.compose`.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import get_class
from lightning.fabric.plugins.environments import SLURMEnvironment
from lightning.pytorch.loggers import MLFlowLogger, TensorBoardLogger, WandbLogger
from omegaconf import DictConfig, OmegaConf, open_dict

from cgan.checkpoints import (
    AtomicCheckpointIO,
    batches_trained,
    check_resumable,
    logged_batches,
    read_checkpoint,
    resolve_resume_path,
)
from cgan.config import BIG_DEVICES, instantiate_or_explain
from cgan.data import build_datamodule
from cgan.errors import UserError
from cgan.model.options import OPTION_GROUPS, Options
from cgan.nets.dcgan import plan_upsampling
from cgan.training.budget import say_the_budget, say_where_it_writes
from cgan.training.callbacks import FlushLogsAfterCheckpoint
from cgan.training.interrupts import GracefulStop
from cgan.training.loggers import ResumableCSVLogger, finish_runs, resume_ids, save_ids, saved_ids
from cgan.training.precision import choose_precision
from cgan.training.progress import ProgressLog, use_progress_bar
from cgan.training.randomness import RankRandomness

log = logging.getLogger(__name__)

# pip extras (pyproject.toml) that bring each optional logger's package.
LOGGER_EXTRAS = {MLFlowLogger: "mlflow", WandbLogger: "wandb"}

# Lightning warns that under manual optimization a step checkpoint holds the weights after that
# step's update: exactly what resuming needs, so the warning is noise here.
warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization")
# Our in-memory batches resume mid-epoch through the DataModule's state_dict, which Lightning's
# "dataloader is not resumable" check does not know about.
warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that ended before the epoch ended")
# The EMA generator (model.ema) is never trained by gradients and stays in eval mode on purpose.
warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode at the start of training")
# Lightning's own deprecation noise, printed on every run (lightning 2.6 with torch 2.14).
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")


def final_metrics(trainer: L.Trainer) -> dict[str, float]:
    """The last epoch's values of every logged metric (``train/d_loss``, ``val/d_real_prob``, ...) as floats;
    a metric with no epoch value yet (a run stopped in its first epoch) gets its last per-step value.

    Called once after training (one host sync); progress-bar aliases are left out.
    """
    metrics, last_steps = {}, {}
    for key, value in trainer.callback_metrics.items():
        if "/" not in key or value.numel() != 1:
            continue
        if key.endswith("_step"):
            last_steps[key.removesuffix("_step")] = float(value)
        else:
            metrics[key.removesuffix("_epoch")] = float(value)
    return {**last_steps, **metrics}


class HParamsWithResults(L.Callback):
    """At the end of training, writes the run's settings beside its final metrics (``hp/...``) to every
    logger: TensorBoard's HParams tab, MLflow's params and metrics, W&B's config and summary, CSV's
    hparams.yaml and metrics.csv. So a sweep's runs compare side by side in any of them. A run stopped
    (Ctrl-C, SIGTERM, max_time) or crashed writes them too, beside the last metrics it logged."""

    def __init__(self, params: dict):
        self.params = params
        self.written = False

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._write(trainer)

    def _write(self, trainer: L.Trainer) -> None:
        if self.written:
            return
        self.written = True
        metrics = {f"hp/{k}": v for k, v in final_metrics(trainer).items() if math.isfinite(v)}
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.log_hyperparams(self.params, metrics=metrics)
            else:
                logger.log_hyperparams(self.params)
                if metrics:
                    logger.log_metrics(metrics, step=batches_trained(trainer))
            logger.save()


def sweepable_params(cfg: DictConfig) -> dict:
    """The settings worth comparing across runs: model, data, seed and the training budget."""
    plain = lambda node: OmegaConf.to_container(node, resolve=True)
    return {"seed": cfg.get("seed"), "model": plain(cfg.model), "data": plain(cfg.data),
            "trainer": {k: cfg.trainer.get(k) for k in ("max_steps", "max_epochs", "precision")}}


def build_model(cfg: DictConfig, datamodule: L.LightningDataModule) -> L.LightningModule:
    """The one hand-off: the data tells the model its classes, image shape and resize filter."""
    data = {"num_classes": datamodule.num_classes, "image_shape": list(datamodule.image_shape),
            "class_names": list(datamodule.class_names), "interpolation": getattr(datamodule, "interpolation", None)}
    return instantiate_or_explain(cfg.model, "model", data=data, _recursive_=False)


def build_loggers(cfg: DictConfig, purge_step: int | None = None, resumed_run_dir: Path | None = None) -> list:
    """The configured loggers. When resuming: TensorBoard and CSV drop what an interrupted run logged
    after its checkpoint (``purge_step``), so a resumed run draws one continuous curve, and MLflow / W&B
    continue the runs they wrote in ``resumed_run_dir``."""
    ids = saved_ids(resumed_run_dir) if resumed_run_dir is not None else {}
    loggers = []
    for entry in (cfg.get("logger") or {}).values():
        if not entry or "_target_" not in entry:
            continue
        target = entry._target_
        cls = get_class(target)
        extra = resume_ids(cls, ids)
        if purge_step is not None and issubclass(cls, (TensorBoardLogger, ResumableCSVLogger)):
            extra["purge_step"] = purge_step
        try:
            loggers.append(instantiate_or_explain(entry, "logger", **extra))
        except InstantiationException as err:
            if isinstance(err.__cause__, ModuleNotFoundError):  # an optional extra that is not installed
                extra_name = next((name for base, name in LOGGER_EXTRAS.items() if issubclass(cls, base)), "loggers")
                raise UserError(f"logger {target.rsplit('.', 1)[-1]} needs a package that is not installed "
                                f"({err.__cause__}); pip install -e '.[{extra_name}]'") from None
            raise
    return loggers


def build_trainer(cfg: DictConfig, loggers: list) -> L.Trainer:
    resolve_precision(cfg)
    trainer_cfg = cfg.trainer
    if trainer_cfg.get("sync_batchnorm") and trainer_cfg.get("accelerator") == "cpu":
        log.info("trainer.sync_batchnorm is off on CPU (torch's SyncBatchNorm needs GPUs); each rank "
                 "normalises with its own batch statistics")
        trainer_cfg = OmegaConf.merge(trainer_cfg, {"sync_batchnorm": False})
    if trainer_cfg.get("deterministic") and trainer_cfg.get("benchmark"):
        # cuDNN autotuning picks kernels by timing, which would override trainer.deterministic=true.
        trainer_cfg = OmegaConf.merge(trainer_cfg, {"benchmark": False})
    accumulate = trainer_cfg.get("accumulate_grad_batches", 1)
    if accumulate != 1:
        raise UserError(f"trainer.accumulate_grad_batches={accumulate} does not apply here: D and G step by hand "
                        "(manual optimization), once per batch; raise data.batch_size instead")
    console = cfg.get("console") or {}
    try:
        show_bar = use_progress_bar(console.get("progress", "auto"))
    except ValueError as err:
        raise UserError(str(err)) from None
    callbacks = [instantiate_or_explain(c, "callbacks") for c in (cfg.get("callbacks") or {}).values() if c and "_target_" in c]
    callbacks += [HParamsWithResults(sweepable_params(cfg)), FlushLogsAfterCheckpoint(), RankRandomness(cfg.get("seed"))]
    try:
        callbacks.append(GracefulStop(requeue_signal=cfg.get("requeue_signal"),
                                      checkpoint_dir=Path(cfg.paths.output_dir) / "checkpoints"))
        if not show_bar:
            callbacks.append(ProgressLog(console.get("interval_s", 30)))
    except ValueError as err:
        raise UserError(str(err)) from None
    plugins = [AtomicCheckpointIO()]
    if SLURMEnvironment.detect():
        # Lightning's SLURM environment gives ranks and nodes; saving and requeueing on SLURM's signal
        # is GracefulStop's (requeue_signal), at a batch boundary, into last.ckpt.
        plugins.append(SLURMEnvironment(auto_requeue=False))
    return instantiate_or_explain(trainer_cfg, "trainer", callbacks=callbacks, logger=loggers or False, plugins=plugins,
                        enable_progress_bar=show_bar and trainer_cfg.get("enable_progress_bar", True))


@dataclass
class TrainedRun:
    trainer: L.Trainer
    model: L.LightningModule
    datamodule: L.LightningDataModule
    metrics: dict[str, float]  # the last epoch's logged values


def check_values(cfg: DictConfig) -> None:
    """Values out of range, each in one sentence naming its key, before any data is read or downloaded
    (the model's option groups check themselves, here and when a caller builds the model directly)."""
    batch_size = cfg.data.get("batch_size")
    if cfg.data.get("global_batch_size") is not None:
        batch_size = 1  # replaced by global_batch_size / devices (set_batch_per_device checks it)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise UserError(f"data.batch_size={batch_size!r} must be a positive whole number, e.g. data.batch_size=64")
    groups = {name: OmegaConf.to_container(cfg.model[name], resolve=True) for name in OPTION_GROUPS
              if cfg.model.get(name) is not None}
    try:
        Options.from_groups(**groups)  # each group checks its values where it is defined
    except (ValueError, TypeError) as err:
        raise UserError(str(err)) from None
    size = cfg.data.get("image_size")
    target = str((cfg.model.get("generator") or {}).get("_target_", ""))
    if size is not None and target.endswith(("DCGANGenerator", "ResNetGenerator")):
        if not isinstance(size, int) or size < 1:
            raise UserError(f"data.image_size={size!r} must be a positive whole number, e.g. data.image_size=64")
        try:
            plan_upsampling((3, size, size), model="dcgan" if target.endswith("DCGANGenerator") else "resnet")
        except UserError as err:
            raise UserError(f"data.image_size={size}: {err}") from None


def set_batch_per_device(cfg: DictConfig, world_size: int) -> None:
    """``data.global_batch_size`` (images per step over all devices), when set, becomes ``data.batch_size``
    (per device): the same global batch, and so the same learning dynamics, on any number of devices."""
    global_batch = cfg.data.get("global_batch_size")
    if global_batch is None:
        return
    if not isinstance(global_batch, int) or isinstance(global_batch, bool) or global_batch < 1:
        raise UserError(f"data.global_batch_size={global_batch!r} must be a positive whole number "
                        "(or null: data.batch_size per device)")
    if global_batch % world_size:
        raise UserError(f"data.global_batch_size={global_batch} does not divide over {world_size} devices; use a "
                        f"multiple of {world_size}, e.g. data.global_batch_size={global_batch // world_size * world_size or world_size}")
    cfg.data.batch_size = global_batch // world_size
    if world_size > 1:
        log.info("data.global_batch_size=%d over %d devices: data.batch_size=%d per device", global_batch,
                 world_size, cfg.data.batch_size)


def resolve_precision(cfg: DictConfig) -> None:
    """``trainer.precision=auto`` becomes the precision this hardware trains fastest in (bf16-mixed on a CPU
    with bf16 matrix units or a GPU that supports bf16, else 32-true), said at the start; the run's
    config, its HParams and its checkpoints then name what it trained in."""
    requested = cfg.trainer.get("precision", "auto")
    if str(requested) != "auto":
        return
    precision, why = choose_precision(requested, cfg.trainer.get("accelerator"))
    with open_dict(cfg):
        cfg.trainer.precision = precision
    other = "32-true" if precision != "32-true" else "bf16-mixed"
    log.info("Training in %s precision: %s (trainer.precision=%s to choose otherwise)", precision, why, other)


def say_when_the_gestures_train_small(cfg: DictConfig) -> None:
    """data=rps follows the device (conf/data/rps.yaml): on a CPU, say that this is the small run (a preset,
    experiment=..., says what it trains in its own header)."""
    if not str(cfg.data.get("_target_", "")).endswith("RockPaperScissorsDataModule"):
        return
    if str(cfg.trainer.get("accelerator")) in BIG_DEVICES:
        return
    if HydraConfig.initialized() and HydraConfig.get().runtime.choices.get("experiment"):
        return
    size, trainer = cfg.data.image_size, cfg.trainer
    budget = f"{trainer.max_epochs} epochs" + (f" or {trainer.max_time}" if trainer.get("max_time") else "")
    if trainer.get("max_steps", -1) > 0:
        budget = f"{trainer.max_steps} optimizer steps"
    log.info("The gestures on a %s: %dx%d photos, batch %d, %s, a run a CPU finishes. Article 002 as published "
             "(128x128, batch 128, 100 epochs) is this command on a GPU (trainer.accelerator=gpu); the best CPU "
             "recipe is experiment=rps_best", trainer.get("accelerator"), size, size, cfg.data.batch_size, budget)


def train(cfg: DictConfig) -> TrainedRun:
    """Train one run as the config says (resuming when ``ckpt_path`` is set)."""
    check_values(cfg)
    say_where_it_writes(cfg.paths.output_dir)
    say_the_budget(cfg)
    say_when_the_gestures_train_small(cfg)
    if cfg.get("print_config", True):
        log.info("Composed config:\n%s", OmegaConf.to_yaml(cfg, resolve=True))
    resume_from = resolve_resume_path(cfg.get("ckpt_path"), cfg.paths.output_dir)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    if cfg.get("num_threads"):
        torch.set_num_threads(cfg.num_threads)
    if cfg.get("float32_matmul_precision"):
        torch.set_float32_matmul_precision(cfg.float32_matmul_precision)

    purge_step = resumed_run_dir = ckpt = None
    if resume_from is not None:
        ckpt = read_checkpoint(resume_from)
        purge_step = logged_batches(ckpt) + 1
        resumed_run_dir = resume_from.parent.parent if resume_from.parent.name == "checkpoints" else resume_from.parent
    loggers = build_loggers(cfg, purge_step, resumed_run_dir)
    trainer = build_trainer(cfg, loggers)  # first: it knows how many devices share the global batch
    set_batch_per_device(cfg, trainer.world_size)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    if ckpt is not None:
        check_resumable(ckpt, resume_from, dict(model.hparams))
        log.info("Resuming from %s (global step %d)", resume_from, ckpt["global_step"])
    if trainer.is_global_zero:
        save_ids(Path(cfg.paths.output_dir), loggers)
    failed = True
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=resume_from)
        failed = False
    finally:
        finish_runs(loggers, failed)  # also on an interrupt or error: the next job must not reuse the W&B run
    if trainer.is_global_zero:
        log.info("Finished at global step %d (%d batches); outputs in %s", trainer.global_step,
                 batches_trained(trainer), Path(cfg.paths.output_dir))
    return TrainedRun(trainer, model, datamodule, final_metrics(trainer))
