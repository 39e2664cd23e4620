"""``cgan-evaluate``: score a checkpoint or a folder of generated images (conf/evaluate.yaml)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from cgan.cli.common import quiet_lightning_console, report_user_errors
from cgan.config import CONF_DIR


def run(cfg: DictConfig):
    from cgan.metrics.evaluate import evaluate  # here, not at the top: `--help` answers without loading torch

    return evaluate(cfg)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="evaluate")
def main(cfg: DictConfig) -> None:
    quiet_lightning_console()
    report_user_errors(run, cfg)


if __name__ == "__main__":
    main()
