"""``cgan-sample`` / ``python sample.py``: draw the chosen classes of a trained generator (conf/sample.yaml)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from cgan.cli.common import report_user_errors
from cgan.config import CONF_DIR


def run(cfg: DictConfig):
    from cgan.generation import sample  # here, not at the top: `--help` answers without loading torch

    return sample(cfg.ckpt_path, labels=cfg.labels, n_per_label=cfg.n_per_label, out_dir=cfg.out_dir, seed=cfg.seed,
                  truncation=cfg.truncation, device=cfg.device, mode=cfg.mode, steps=cfg.steps,
                  rejection=cfg.get("rejection"))


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="sample")
def main(cfg: DictConfig) -> None:
    report_user_errors(run, cfg)


if __name__ == "__main__":
    main()
