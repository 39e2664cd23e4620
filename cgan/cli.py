"""Console entry points (``cgan-train``, ``cgan-sample``; train.py and sample.py call these).

Nothing in the rest of the library reads sys.argv: Hydra parses the command
line here and hands over a composed config.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict

from cgan.config import CONF_DIR, check_no_missing_values
from cgan.errors import UserError
from cgan.interrupts import TrainingInterrupted

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


def report_user_errors(fn, cfg: DictConfig):
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


def resume_command(run_dir: str) -> str:
    """``python train.py <this run's overrides> hydra.run.dir=<run dir> ckpt_path=last``."""
    overrides = []
    if HydraConfig.initialized():
        overrides = [o for o in HydraConfig.get().overrides.task
                     if not o.startswith(("ckpt_path=", "hydra.run.dir=", "+ckpt_path="))]
    script = Path(sys.argv[0])
    if script.is_absolute() and script.is_relative_to(Path.cwd()):
        script = script.relative_to(Path.cwd())
    program = ["python", str(script)] if script.suffix == ".py" else [script.name]
    return shlex.join([*program, *overrides, f"hydra.run.dir={run_dir}", "ckpt_path=last"])


def share_cores_between_parallel_jobs(cfg: DictConfig) -> None:
    """Under hydra/launcher=joblib, n_jobs trainings run at once on this machine: unless num_threads is
    set, each gets its share of the cores (one thread when jobs >= cores). Small nets scale poorly across
    threads, and N jobs that each spread over every core mostly wait on one another."""
    if cfg.get("num_threads") is not None or not in_multirun():
        return
    launcher = HydraConfig.get().launcher
    if "joblib" not in str(launcher.get("_target_", "")):
        return
    cores = os.cpu_count() or 1
    n_jobs = launcher.get("n_jobs") or -1
    parallel = n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)  # joblib: -1 all cores, -2 all but one
    with open_dict(cfg):
        cfg.num_threads = max(1, cores // parallel)
    log.info("hydra/launcher=joblib with %d jobs at once on %d cores: num_threads=%d per job", parallel, cores,
             cfg.num_threads)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
def train_main(cfg: DictConfig) -> float | None:
    from cgan.training import train  # imported late so `--help` / `--cfg job` stay fast

    quiet_lightning_console()
    share_cores_between_parallel_jobs(cfg)
    try:
        run = report_user_errors(train, cfg)
    except TrainingInterrupted as stop:
        # One line a person (or a requeued job's log) can act on, then the shell's exit code for the signal.
        run_dir = stop.ckpt_path.parent.parent if stop.ckpt_path else Path(cfg.paths.output_dir)
        action = "requeued; it resumes by itself" if stop.requeued else f"resume with: {resume_command(str(run_dir))}"
        log.warning("Stopped by %s at global step %d; saved %s; %s", stop.signal_name, stop.global_step,
                    stop.ckpt_path, action)
        sys.exit(stop.exit_code)
    # Returned for Hydra sweepers (e.g. Optuna), which minimise this value.
    objective = cfg.get("optimized_metric")
    return run.metrics.get(objective) if objective else None


def sample_from_config(cfg: DictConfig) -> None:
    from cgan.checkpoints import newest_run_checkpoint
    from cgan.sampling import sample

    ckpt_path = cfg.ckpt_path
    if ckpt_path is None:
        ckpt_path = newest_run_checkpoint("outputs")
        log.info("No ckpt_path given: using the newest run's %s", ckpt_path)
    sample(ckpt_path, labels=cfg.labels, n_per_label=cfg.n_per_label, out_dir=cfg.out_dir, seed=cfg.seed,
           truncation=cfg.truncation, device=cfg.device, mode=cfg.mode, steps=cfg.steps)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="sample")
def sample_main(cfg: DictConfig) -> None:
    report_user_errors(sample_from_config, cfg)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="judge")
def judge_main(cfg: DictConfig) -> None:
    from cgan.judge_check import main_judge

    quiet_lightning_console()
    report_user_errors(main_judge, cfg)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="evaluate")
def evaluate_main(cfg: DictConfig) -> None:
    from cgan.metrics import main_evaluate

    quiet_lightning_console()
    report_user_errors(main_evaluate, cfg)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="export")
def export_main(cfg: DictConfig) -> None:
    from cgan.export import main_export

    report_user_errors(main_export, cfg)
