"""Build everything from a composed Hydra config and fit it.

train.py is a thin Hydra wrapper around :func:`train`; tests call it directly
with a config from ``hydra.compose``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from cgan.errors import UserError

log = logging.getLogger(__name__)


def _instantiate(cfg: DictConfig, what: str, **kwargs) -> Any:
    """hydra's instantiate, with the user's own mistakes (bad values) reported as one sentence."""
    try:
        return instantiate(cfg, **kwargs)
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, UserError):
            raise cause
        if isinstance(cause, (ValueError, TypeError)):
            raise UserError(f"bad {what} config: {cause}") from err
        raise


def _instantiate_all(group: DictConfig | None, what: str) -> list[Any]:
    """Every entry of a dict-of-configs group (callbacks, loggers) that has a _target_; null entries are off."""
    if not group:
        return []
    return [_instantiate(entry, what) for entry in group.values() if entry and "_target_" in entry]


def _check_ckpt_path(ckpt_path: str | None) -> str | None:
    if ckpt_path is None or ckpt_path == "last":
        return ckpt_path
    if not Path(ckpt_path).is_file():
        raise UserError(f"ckpt_path={ckpt_path} does not exist; pass an existing .ckpt file "
                        "(e.g. outputs/<run>/checkpoints/last.ckpt) or leave ckpt_path unset to start fresh")
    return ckpt_path


def final_metrics(trainer: L.Trainer) -> dict[str, float]:
    """The epoch-level values of the last epoch, as plain floats (one host sync, after training)."""
    return {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}


class HParamsWithResults(L.Callback):
    """At the end of training, writes the run's settings beside its final metrics to TensorBoard's HParams
    tab, so one ``tensorboard --logdir outputs`` compares the runs of a sweep side by side."""

    def __init__(self, params: dict):
        self.params = params

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        metrics = {f"hp/{k.replace('/', '_')}": v for k, v in final_metrics(trainer).items() if math.isfinite(v)}
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.log_hyperparams(self.params, metrics=metrics)


def sweepable_params(cfg: DictConfig) -> dict:
    """The settings worth comparing across runs: model, data, seed and the training budget."""
    params = OmegaConf.to_container(cfg, resolve=True)
    return {"seed": params.get("seed"), "model": params["model"], "data": params["data"],
            "trainer": {k: params["trainer"].get(k) for k in ("max_steps", "max_epochs", "precision")}}


def train(cfg: DictConfig) -> dict[str, float]:
    """Train one run as the config says; returns the final epoch metrics."""
    if cfg.get("print_config", True):
        log.info("Composed config:\n%s", OmegaConf.to_yaml(cfg, resolve=True))
    ckpt_path = _check_ckpt_path(cfg.get("ckpt_path"))
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    if cfg.get("float32_matmul_precision"):
        torch.set_float32_matmul_precision(cfg.float32_matmul_precision)

    # The one hand-off: the data tells the model its classes and image shape.
    datamodule: L.LightningDataModule = _instantiate(cfg.data, "data")
    datamodule.prepare_data()
    datamodule.setup("fit")
    model = _instantiate(cfg.model, "model", num_classes=datamodule.num_classes,
                         image_shape=datamodule.image_shape, class_names=datamodule.class_names,
                         _recursive_=False)

    callbacks = _instantiate_all(cfg.get("callbacks"), "callbacks") + [HParamsWithResults(sweepable_params(cfg))]
    loggers = _instantiate_all(cfg.get("logger"), "logger")
    trainer: L.Trainer = _instantiate(cfg.trainer, "trainer", callbacks=callbacks, logger=loggers or False)

    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    metrics = final_metrics(trainer)
    log.info("Finished at global step %d (%d batches); outputs in %s", trainer.global_step,
             trainer.fit_loop.epoch_loop._batches_that_stepped, cfg.paths.output_dir)
    return metrics
