"""What every command shares: one sentence and exit code 2 for a user's mistake, quiet consoles.

Each command is one small module of this package (``cgan-train`` is :mod:`cgan.cli.train`, ...):
Hydra parses the command line there and hands the composed config to one library call. Nothing
below this package reads sys.argv.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from cgan.config import check_no_missing_values
from cgan.errors import UserError

log = logging.getLogger(__name__)


def quiet_lightning_console() -> None:
    """Lightning adds its own console handler; under Hydra's logging every line would print twice."""
    import lightning  # noqa: F401  (the import adds the handler)

    if logging.getLogger().handlers:
        lightning_logger = logging.getLogger("lightning")
        for handler in list(lightning_logger.handlers):
            lightning_logger.removeHandler(handler)


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def report_user_errors(fn: Callable[[DictConfig], Any], cfg: DictConfig) -> Any:
    """Run fn(cfg); a UserError becomes one line on stderr and exit code 2, not a traceback.

    In a multirun the error is logged and re-raised instead: Hydra records the job as failed, runs
    the remaining jobs, and reports the failure (exit code 1) when the sweep ends.
    """
    try:
        check_no_missing_values(cfg)
        return fn(cfg)
    except UserError as err:
        if in_multirun():
            log.error("job %s failed: %s", HydraConfig.get().job.num, err)
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:  # before training started or after it ended: nothing of a run to save
        print("error: interrupted (Ctrl-C); nothing was being trained, so nothing was lost", file=sys.stderr)
        sys.exit(130)
