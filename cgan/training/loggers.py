"""Loggers beyond TensorBoard: pictures and text to each the way it takes them, and one run per logger
across resumes.

Lightning sends scalars and hyperparameters to every logger by itself; images and text have no
common API, so the grids and the real-data preview go through :func:`cgan.images.log_image` / :func:`log_text`.
A resumed run continues the same MLflow run and W&B run (their ids are kept in ``<run dir>/loggers.json``)
and the same ``metrics.csv`` (rows after the checkpoint are dropped, as TensorBoard's purge_step does).
"""

from __future__ import annotations

import csv
import json
import logging
import os
from pathlib import Path

import torch
from lightning.fabric.utilities.logger import _convert_params, _flatten_dict
from lightning.pytorch.loggers import CSVLogger, Logger, MLFlowLogger, TensorBoardLogger, WandbLogger
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

log = logging.getLogger(__name__)

IDS_FILE = "loggers.json"


def log_text(loggers: list[Logger], tag: str, text: str, step: int = 0) -> None:
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_text(tag, text, global_step=step)
        elif isinstance(logger, MLFlowLogger):
            logger.experiment.log_text(logger.run_id, text, f"{tag}.md")
        elif isinstance(logger, WandbLogger):
            logger.log_text(key=tag, columns=["markdown"], data=[[text]], step=step)


class ResumableCSVLogger(CSVLogger):
    """Lightning's CSVLogger (``metrics.csv``), except that a resumed run keeps the rows logged before
    its checkpoint (``purge_step``) instead of deleting the file."""

    def __init__(self, *args, purge_step: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._purge_step = purge_step

    @property
    @rank_zero_experiment
    def experiment(self):
        if self._experiment is not None:
            return self._experiment
        kept = self._rows_before_purge_step()
        experiment = CSVLogger.experiment.fget(self)  # Lightning's writer deletes an existing metrics.csv
        if kept:
            experiment.metrics = kept
            experiment.save()
        return experiment

    def _rows_before_purge_step(self) -> list[dict]:
        path = Path(self.log_dir) / "metrics.csv"
        if self._purge_step is None or not path.is_file():
            return []
        with open(path, newline="") as f:
            rows = [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]
        return [dict(row, step=int(row["step"])) for row in rows if row.get("step", 0) < self._purge_step]


class ResumableMLFlowLogger(MLFlowLogger):
    """Lightning's MLFlowLogger, except that a resumed run may change settings (``trainer.max_steps``
    raised to train longer is the usual case). MLflow keeps a run's params immutable and refuses a new
    value; here the first value stays and each change is noted in the run's tag ``resumed_changes``."""

    @rank_zero_only
    def log_hyperparams(self, params) -> None:
        logged = self.experiment.get_run(self.run_id).data.params
        if not logged:
            return super().log_hyperparams(params)
        flat = {k: str(v)[:250] for k, v in _flatten_dict(_convert_params(params)).items()}
        changes = [f"{k}: {logged[k]} -> {v}" for k, v in flat.items() if k in logged and logged[k] != v]
        new = {k: v for k, v in flat.items() if k not in logged}
        if new:
            super().log_hyperparams(new)
        if changes:
            before = self.experiment.get_run(self.run_id).data.tags.get("resumed_changes")
            note = "; ".join(changes) if not before else f"{before}; " + "; ".join(changes)
            self.experiment.set_tag(self.run_id, "resumed_changes", note[:5000])
            log.info("MLflow run %s keeps its first params; changed on resume (tag resumed_changes): %s",
                     self.run_id, "; ".join(changes))


class OfflineFirstWandbLogger(WandbLogger):
    """Lightning's WandbLogger, offline when no W&B API key is set (``offline=null``): the run is
    written under ``save_dir/wandb`` and ``wandb sync <that folder>`` uploads it later."""

    def __init__(self, offline: bool | None = None, **kwargs):
        if offline is None:
            offline = not os.environ.get("WANDB_API_KEY") and os.environ.get("WANDB_MODE") != "online"
        super().__init__(offline=offline, **kwargs)
        # Lightning passes wandb.init an `anonymous` argument that W&B has retired, and W&B warns about it
        # on every run ("The anonymous setting has no effect"); leave it out.
        self._wandb_init.pop("anonymous", None)


def finish_runs(loggers: list[Logger], failed: bool) -> None:
    """End this process's W&B run. Lightning leaves it open, and the next WandbLogger in the same process
    (the next job of a multirun) would silently log into it instead of starting its own run."""
    for logger in loggers:
        if isinstance(logger, WandbLogger) and logger._experiment is not None:
            logger._experiment.finish(exit_code=1 if failed else 0)


def saved_ids(run_dir: Path) -> dict:
    path = Path(run_dir) / IDS_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def resume_ids(logger_class: type, ids: dict) -> dict:
    """Constructor arguments that make a logger continue the run it wrote before."""
    if issubclass(logger_class, MLFlowLogger) and ids.get("mlflow"):
        return {"run_id": ids["mlflow"]}
    if issubclass(logger_class, WandbLogger) and ids.get("wandb"):
        return {"id": ids["wandb"], "resume": "allow"}
    return {}


def save_ids(run_dir: Path, loggers: list[Logger]) -> None:
    """Keep the MLflow / W&B run ids in the run dir, so resuming continues those runs."""
    ids = {}
    for logger in loggers:
        if isinstance(logger, MLFlowLogger):
            ids["mlflow"] = logger.run_id
        elif isinstance(logger, WandbLogger):
            ids["wandb"] = logger.experiment.id  # creating the run (offline too) gives it its id
    if ids:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        (Path(run_dir) / IDS_FILE).write_text(json.dumps(ids, indent=2))
