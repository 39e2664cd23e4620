"""Sweep-throughput benchmark: the same N-job multirun under Hydra's default launcher (one job after
another) and under hydra/launcher=joblib (several at once on this machine).

    python -m benchmarks.sweep_bench [--jobs 4] [--n-jobs 2,4] [train.py overrides ...]
    python -m benchmarks.sweep_bench --jobs 4 --n-jobs 2,4 trainer.max_steps=2000 paths.data_dir=/path/to/data

Each job is `python train.py -m seed=1,...,N <overrides>` as a user runs it (start-up, data, grids and
checkpoints included), timed from the command's start to its end. Prints wall time, images trained per
second over the whole sweep and the speed-up against the default launcher. Joblib jobs get their share of
the cores (num_threads = cores // n_jobs) unless the overrides set num_threads.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf


def run_sweep(jobs: int, launcher: list[str], overrides: list[str], sweep_dir: Path) -> float:
    """Seconds for one multirun of ``jobs`` seeds; raises when any job failed."""
    seeds = ",".join(str(s) for s in range(1, jobs + 1))
    command = [sys.executable, "-m", "cgan.cli.train", "-m", f"seed={seeds}", f"hydra.sweep.dir={sweep_dir}",
               "console.progress=log", "print_config=false", *launcher, *overrides]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"sweep failed ({' '.join(command)}):\n{result.stderr[-3000:]}")
    return seconds


def images_trained(sweep_dir: Path) -> int:
    """Images the sweep's jobs trained on, read from their last checkpoints (batches x batch size)."""
    total = 0
    for ckpt_path in sorted(sweep_dir.glob("*/checkpoints/last.ckpt")):
        global_step = torch.load(ckpt_path, map_location="cpu", weights_only=True)["global_step"]
        batch_size = OmegaConf.load(ckpt_path.parent.parent / ".hydra" / "config.yaml").data.batch_size
        total += global_step // 2 * batch_size  # D and G each count one optimizer step per batch
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=4, help="jobs in the sweep (seeds 1..N; default 4)")
    parser.add_argument("--n-jobs", default="2,4",
                        help="joblib n_jobs values to time beside the default launcher (default 2,4)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/train.yaml, as for train.py")
    args = parser.parse_args(argv)

    launchers = [("default (one at a time)", [])]
    launchers += [(f"joblib n_jobs={n}", ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={n}"]) for n in args.n_jobs.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="cgan-sweep-bench-") as tmp:
        for i, (name, launcher) in enumerate(launchers):
            sweep_dir = Path(tmp) / str(i)
            seconds = run_sweep(args.jobs, launcher, args.overrides, sweep_dir)
            rows.append((name, seconds, images_trained(sweep_dir)))
            print(f"{name}: {seconds:.1f} s", flush=True)
    base = rows[0][1]
    print(f"\n{args.jobs}-job sweep on {os.cpu_count()} cores, overrides: {' '.join(args.overrides) or '(none)'}")
    print("| launcher | wall s | images/s (whole sweep) | speed-up |\n| --- | --- | --- | --- |")
    for name, seconds, images in rows:
        print(f"| {name} | {seconds:.1f} | {images / seconds:,.0f} | {base / seconds:.2f}x |")


if __name__ == "__main__":
    main()
