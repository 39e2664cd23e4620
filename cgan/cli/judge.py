"""``cgan-judge``: train the dataset's classifier that the metrics use, and check it (conf/judge.yaml)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from cgan.cli.common import quiet_lightning_console, report_user_errors
from cgan.config import CONF_DIR


def run(cfg: DictConfig):
    from cgan.metrics.judge_check import train_judge  # here, not at the top: `--help` answers without torch

    return train_judge(cfg)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="judge")
def main(cfg: DictConfig) -> None:
    quiet_lightning_console()
    report_user_errors(run, cfg)


if __name__ == "__main__":
    main()
