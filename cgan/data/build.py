"""The configured DataModule, built and set up: what every command that needs real images starts from."""

from __future__ import annotations

import logging

import lightning as L
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from cgan.config import instantiate_or_explain

log = logging.getLogger(__name__)


def datamodule_config(cfg: DictConfig) -> DictConfig:
    """``cfg.data`` as the DataModule takes it: without ``global_batch_size``, which is the training run's
    (it sets ``batch_size`` per device, cgan.training.run) as a DataModule sees one device."""
    data = OmegaConf.to_container(cfg.data, resolve=True)
    data.pop("global_batch_size", None)
    return OmegaConf.create(data)


def build_datamodule(cfg: DictConfig) -> L.LightningDataModule:
    """``cfg.data`` instantiated and set up: its classes and image shape are known afterwards."""
    datamodule = instantiate_or_explain(datamodule_config(cfg), "data")
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def named_on_command_line(key: str) -> bool:
    """Whether the command's overrides (Hydra's, for the commands and cgan's Python API alike) set ``key``."""
    if not HydraConfig.initialized():
        return False
    return any(override.lstrip("+~").split("=", 1)[0] == key for override in HydraConfig.get().overrides.task)


def follow_image_size(cfg: DictConfig, image_shape) -> None:
    """``data.image_size`` becomes the side of ``image_shape`` (a checkpoint's) when the data has a size and the
    command did not name one: a 128x128 GPU checkpoint is scored, or gets its classifier, at 128 without
    ``data.image_size=128`` (the data's own default follows this machine's device, 64 on a CPU)."""
    if "image_size" not in cfg.data or named_on_command_line("data.image_size"):
        return
    side = int(image_shape[-1])
    if cfg.data.image_size != side:
        log.info("data.image_size=%d, the size the checkpoint was trained at", side)
        with open_dict(cfg):
            cfg.data.image_size = side
