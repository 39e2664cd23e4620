"""The configured DataModule, built and set up: what every command that needs real images starts from."""

from __future__ import annotations

import lightning as L
from omegaconf import DictConfig

from cgan.config import instantiate_or_explain


def build_datamodule(cfg: DictConfig) -> L.LightningDataModule:
    """``cfg.data`` instantiated and set up: its classes and image shape are known afterwards."""
    datamodule = instantiate_or_explain(cfg.data, "data")
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule
