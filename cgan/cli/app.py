"""``cgan-app``: serve a page to play with a trained generator (conf/app.yaml)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from cgan.cli.common import report_user_errors
from cgan.config import CONF_DIR


def run(cfg: DictConfig):
    from cgan.app.serve import serve  # here, not at the top: `--help` answers without loading Gradio

    return serve(cfg.ckpt_path, host=cfg.host, port=cfg.port, device=cfg.device, max_images=cfg.max_images,
                 share=cfg.share, analytics=cfg.analytics, open_browser=cfg.open_browser,
                 truncation=cfg.truncation)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="app")
def main(cfg: DictConfig) -> None:
    report_user_errors(run, cfg)


if __name__ == "__main__":
    main()
