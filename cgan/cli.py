"""Console entry points (``cgan-train``, ``cgan-sample``; train.py and sample.py call these).

Nothing in the rest of the library reads sys.argv: Hydra parses the command
line here and hands over a composed config.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from cgan.errors import UserError

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


def quiet_lightning_console() -> None:
    """Lightning adds its own console handler; under Hydra's logging every line would print twice."""
    import lightning  # noqa: F401  (the import adds the handler)

    if logging.getLogger().handlers:
        lightning_logger = logging.getLogger("lightning")
        for handler in list(lightning_logger.handlers):
            lightning_logger.removeHandler(handler)


def report_user_errors(fn, cfg: DictConfig):
    """Run fn(cfg); a UserError becomes one line on stderr and exit code 2, not a traceback.

    In a multirun the error is logged and re-raised instead: Hydra records the job as failed, runs
    the remaining jobs, and reports the failure (exit code 1) when the sweep ends.
    """
    try:
        return fn(cfg)
    except UserError as err:
        if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
            logging.getLogger(__name__).error("job %s failed: %s", HydraConfig.get().job.num, err)
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
def train_main(cfg: DictConfig) -> float | None:
    from cgan.training import train  # imported late so `--help` / `--cfg job` stay fast

    quiet_lightning_console()
    run = report_user_errors(train, cfg)
    # Returned for Hydra sweepers (e.g. Optuna), which minimise this value.
    objective = cfg.get("optimized_metric")
    return run.metrics.get(objective) if objective else None


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="sample")
def sample_main(cfg: DictConfig) -> None:
    from cgan.sampling import sample

    report_user_errors(
        lambda c: sample(c.ckpt_path, labels=c.labels, n_per_label=c.n_per_label, out_dir=c.out_dir,
                         seed=c.seed, truncation=c.truncation, device=c.device, mode=c.mode, steps=c.steps),
        cfg,
    )


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="judge")
def judge_main(cfg: DictConfig) -> None:
    from cgan.judge import main_judge

    quiet_lightning_console()
    report_user_errors(main_judge, cfg)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="evaluate")
def evaluate_main(cfg: DictConfig) -> None:
    from cgan.metrics import main_evaluate

    quiet_lightning_console()
    report_user_errors(main_evaluate, cfg)
