"""The configured DataModule, built and set up: what every command that needs real images starts from."""

from __future__ import annotations

import lightning as L
from omegaconf import DictConfig, OmegaConf

from cgan.config import instantiate_or_explain


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
