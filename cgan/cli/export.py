"""``cgan-export``: the trained generator as one TorchScript, torch.export or ONNX file (conf/export.yaml)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from cgan.cli.common import report_user_errors
from cgan.config import CONF_DIR


def run(cfg: DictConfig):
    from cgan.generation.export import export  # here, not at the top: `--help` answers without loading torch

    return export(cfg.ckpt_path, cfg.format, cfg.out)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="export")
def main(cfg: DictConfig) -> None:
    report_user_errors(run, cfg)


if __name__ == "__main__":
    main()
