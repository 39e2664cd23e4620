"""``cgan-train`` / ``python train.py``: train a conditional GAN as conf/train.yaml and the overrides say."""

from __future__ import annotations

import logging
import os
import shlex
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from cgan.cli.common import in_multirun, quiet_lightning_console, report_user_errors
from cgan.config import CONF_DIR
from cgan.renamed import old_key_problem

log = logging.getLogger(__name__)


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


def say_what_next(cfg: DictConfig, run) -> None:
    """At the end of a run: where it wrote, the checkpoint to use, and the commands that sample it and train it
    longer (the same run, each of its caps doubled)."""
    from cgan.training.budget import longer

    run_dir = Path(cfg.paths.output_dir)
    if run_dir.is_absolute() and run_dir.is_relative_to(Path.cwd()):
        run_dir = run_dir.relative_to(Path.cwd())
    best = run_dir / "checkpoints" / "best.ckpt"
    checkpoint = best if best.is_file() else run_dir / "checkpoints" / "last.ckpt"
    first_class = run.model.data.class_names[0]
    extend = longer(cfg.trainer)
    log.info("Done: outputs in %s; its generator: %s", run_dir, checkpoint)
    log.info("Sample it: %s", shlex.join(["python", "sample.py", f"ckpt_path={run_dir}", f"labels=[{first_class}]"]))
    if extend:
        log.info("Train it longer: %s %s", resume_command(str(run_dir)), extend)


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


def show_resolved_config(argv: list[str]) -> None:
    """``--cfg job`` prints values, not ``${...}``: sizes, batches and epochs that follow the device
    (``cgan_by_device``) show as the run will use them."""
    if any(a in ("--cfg", "-c") or a.startswith("--cfg=") for a in argv) and "--resolve" not in argv:
        argv.insert(1, "--resolve")  # before the overrides: argparse takes flags first


def main() -> float | None:
    show_resolved_config(sys.argv)
    problem = old_key_problem(sys.argv[1:])
    if problem:  # an option by its name before the groups: say its new name, not Hydra's "not in struct"
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    return train_main()


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
def train_main(cfg: DictConfig) -> float | None:
    # Imported here, not at the top, so that `--help` and `--cfg job` answer without loading Lightning.
    from cgan.training import train
    from cgan.training.interrupts import TrainingInterrupted
    from cgan.training.sweep_objective import objective_problem

    problem = objective_problem(cfg)
    if problem:  # every trial would fail alike: stop the whole search now, not after its last trial
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    quiet_lightning_console()
    share_cores_between_parallel_jobs(cfg)
    try:
        run = report_user_errors(train, cfg)
    except TrainingInterrupted as stop:
        # One line a person (or a requeued job's log) can act on, then the shell's exit code for the signal.
        run_dir = stop.ckpt_path.parent.parent if stop.ckpt_path else Path(cfg.paths.output_dir)
        action = "requeued; it resumes by itself" if stop.requeued else f"resume with: {resume_command(str(run_dir))}"
        if stop.is_global_zero:  # once per run, not once per DDP rank
            log.warning("Stopped by %s at global step %d; saved %s; %s", stop.signal_name, stop.global_step,
                        stop.ckpt_path, action)
        sys.exit(stop.exit_code)
    if run.trainer.is_global_zero and not in_multirun():
        say_what_next(cfg, run)
    # Returned for Hydra sweepers (e.g. Optuna), which minimise this value.
    objective = cfg.get("optimized_metric")
    return run.metrics.get(objective) if objective else None


if __name__ == "__main__":
    main()
