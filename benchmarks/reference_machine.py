"""The reference-machine table of docs/devices-speed-sweeps.md: what this machine is, its measured float32
peaks, and the training speed of each preset the pages name, with the images a full run of it sees.

    python -m benchmarks.reference_machine [--repeats 2] [train overrides for every preset, e.g. paths.data_dir=...]
    python -m benchmarks.reference_machine --real [overrides]   # each command run as a user runs it

Each preset trains a fixed number of batches through train.py's own path (python -m benchmarks.bench's framework timing:
Lightning, the model, the DataModule; checkpoints, grids, validation and metrics off), the presets
interleaved ``--repeats`` times, the median kept. Minutes of a full run are its images over that rate:
training steps alone, so a real run with its grids, validation and metrics takes somewhat longer.
Keep the machine quiet while it runs (no test suite beside it): about 10 minutes on 2 cores.

With ``--real`` it instead runs each command of the pages as a user does, start to exit, in a fresh run
dir: the classifiers first (``cgan-judge``), then every preset with its checkpoints, grids, validation and
metrics on, and reports the wall-clock minutes and the images the run saw (read from its last.ckpt), and
whether it kept a best.ckpt. These are the figures the pages quote. About 90 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from omegaconf import DictConfig

from benchmarks.bench import benchmark_config, conv_peak, matmul_peak, time_framework
from cgan.checkpoints import read_checkpoint
from cgan.config import compose
from cgan.data import build_datamodule
from cgan.training.callbacks import parse_interval
from cgan.training.precision import cpu_bf16_units

# Each preset is timed in both precisions a CPU can train in: float32 (what trainer.precision=auto picks on a
# CPU) and bf16-mixed (faster where the CPU has bf16 matrix units, chosen by hand).
PRECISIONS = ("32-true", "bf16-mixed")
# (what the pages call it, its overrides, batches timed per repeat: about 20 s each on 2 cores)
PRESETS = [
    ("python train.py", [], 300),
    ("python train.py model=dcgan data=rps (on a CPU)", ["model=dcgan", "data=rps"], 20),
    ("experiment=mnist_5min", ["experiment=mnist_5min"], 150),
    ("experiment=mnist_best", ["experiment=mnist_best"], 150),
    ("experiment=rps_best", ["experiment=rps_best"], 50),
    ("experiment=rps_resnet", ["experiment=rps_resnet"], 60),
]


# (what the pages call it, the command after ``python``): the classifiers first, so the runs score themselves
REAL_COMMANDS = [
    ("cgan-judge", ["-m", "cgan.cli.judge"]),
    ("cgan-judge data=rps", ["-m", "cgan.cli.judge", "data=rps"]),
    *[(name, ["train.py", *overrides]) for name, overrides, _ in PRESETS],
]


def cpu_description() -> str:
    """The CPU's model name, core count and whether it has AVX-512 (bf16 is fast only with AVX512_BF16/AMX)."""
    name, flags = platform.processor() or "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    vector = "AVX-512" + (" with BF16" if "avx512_bf16" in flags else "") if "avx512f" in flags else \
        ("AVX2, no AVX-512" if "avx2" in flags else "no AVX2")
    units = cpu_bf16_units()  # what PyTorch itself finds: AMX tiles, AVX512-BF16 or neither
    return f"{name}, {os.cpu_count()} cores, {vector}, bf16 matrix units: {units or 'none'}"


def full_run_images(cfg: DictConfig, datamodule, rate: float) -> tuple[int, str]:
    """(images a full run of this config sees, what decides it): the first of max_steps, max_epochs and
    max_time (at ``rate``) that it reaches."""
    trainer = cfg.trainer
    limits = []
    if trainer.get("max_steps", -1) > 0:
        limits.append((trainer.max_steps // 2 * cfg.data.batch_size, f"max_steps={trainer.max_steps}"))
    if trainer.get("max_epochs") is not None and trainer.max_epochs > 0:
        per_epoch = len(datamodule.train_dataloader()) * cfg.data.batch_size
        limits.append((per_epoch * trainer.max_epochs, f"{trainer.max_epochs} epochs"))
    if trainer.get("max_time"):
        seconds = parse_interval(trainer.max_time).total_seconds()
        limits.append((int(rate * seconds), f"max_time={trainer.max_time}"))
    return min(limits)


def measure(shared: list[str], repeats: int) -> tuple[list[dict], dict]:
    runs = [(name, overrides, batches, precision) for name, overrides, batches in PRESETS for precision in PRECISIONS]
    rates: dict[tuple[str, str], list[float]] = {(name, precision): [] for name, _, _, precision in runs}
    built = {}
    for _ in range(repeats):  # interleaved: a slow spell of the machine hits every preset and precision alike
        for name, overrides, batches, precision in runs:
            cfg = benchmark_config([*overrides, *shared, f"trainer.precision={precision}"],
                                 Path(tempfile.mkdtemp(prefix="cgan-reference-")))
            if name not in built:  # the data read once per preset
                built[name] = build_datamodule(cfg)
            rates[name, precision].append(time_framework(cfg, built[name], n_warmup=max(3, batches // 10),
                                                         n_timed=batches))
    rows = []
    for name, overrides, _, precision in runs:
        rate = statistics.median(rates[name, precision])
        full = compose("train", [*overrides, *shared], tempfile.mkdtemp(prefix="cgan-reference-"))  # as train.py
        images, decided_by = full_run_images(full, built[name], rate)
        rows.append({"preset": name, "precision": precision, "images_per_s": rate, "full_run_images": images,
                     "decided_by": decided_by, "minutes": images / rate / 60,
                     "batch": full.data.batch_size, "size": "x".join(map(str, built[name].image_shape[1:]))})
    device = torch.device("cpu")
    machine = {"cpu": cpu_description(), "threads": torch.get_num_threads(), "torch": torch.__version__}
    for label, dtype in (("float32", torch.float32), ("bf16", torch.bfloat16)):
        machine[f"matmul_gflops_{label}"] = matmul_peak(device, dtype=dtype) / 1e9
        machine[f"conv_gflops_{label}"] = conv_peak(device, dtype=dtype) / 1e9
    return rows, machine


def real_machine_line() -> str:
    return f"{cpu_description()}; torch {torch.__version__}, {torch.get_num_threads()} threads"


def report(rows: list[dict], machine: dict) -> str:
    peaks = "; ".join(f"{label} matmul {machine[f'matmul_gflops_{label}']:.0f}, 3x3 conv "
                      f"{machine[f'conv_gflops_{label}']:.0f} GFLOP/s" for label in ("float32", "bf16"))
    lines = [f"{machine['cpu']}; torch {machine['torch']}, {machine['threads']} threads; peaks measured: {peaks}", "",
             "| preset | precision | images | batch | images/s (training steps) | a full run | images seen | minutes |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        lines.append(f"| `{row['preset']}` | {row['precision']} | {row['size']} | {row['batch']} | "
                     f"{row['images_per_s']:,.0f} | {row['decided_by']} | {row['full_run_images']:,} | {row['minutes']:.1f} |")
    return "\n".join(lines)


def run_as_a_user(name: str, command: list[str], shared: list[str], out_dir: Path) -> dict:
    """Run one command of the pages start to exit; its wall-clock minutes and, for training, its images seen."""
    run_dir = out_dir / re.sub(r"[^\w.-]+", "_", name).strip("_")  # a plain folder name Hydra's override parser takes
    training = command[0] == "train.py"
    extra = [f"hydra.run.dir={run_dir}", "console.progress=log"] if training else []
    start = time.perf_counter()
    with open(out_dir / f"{run_dir.name}.log", "w") as log_file:  # what the command said, for a failure
        subprocess.run([sys.executable, *command, *shared, *extra], check=True, stdout=log_file, stderr=log_file)
    row = {"command": name, "minutes": (time.perf_counter() - start) / 60}
    if training:
        last = read_checkpoint(run_dir / "checkpoints" / "last.ckpt")
        batch = compose("train", [*command[1:], *shared], str(run_dir)).data.batch_size
        row.update(images=last["global_step"] // 2 * batch, best=(run_dir / "checkpoints" / "best.ckpt").exists())
    return row


def measure_real(shared: list[str], skip: int = 0) -> list[dict]:
    out_dir = Path(tempfile.mkdtemp(prefix="cgan-reference-runs-"))
    rows = []
    for name, command in REAL_COMMANDS[skip:]:
        rows.append(run_as_a_user(name, command, shared, out_dir))
        print(real_report(rows[-1:]).splitlines()[-1], flush=True)  # a row as it comes: the whole takes long
    return rows


def real_report(rows: list[dict]) -> str:
    lines = ["| command | images seen | minutes, start to exit | images/s, whole run | best.ckpt |",
             "| --- | --- | --- | --- | --- |"]
    for row in rows:
        if "images" in row:
            rate = row["images"] / (row["minutes"] * 60)
            lines.append(f"| `{row['command']}` | {row['images']:,} | {row['minutes']:.1f} | {rate:,.0f} | "
                         f"{'yes' if row['best'] else 'no'} |")
        else:
            lines.append(f"| `{row['command']}` | | {row['minutes']:.1f} | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="interleaved repetitions, median kept (default 2)")
    parser.add_argument("overrides", nargs="*", help="train overrides for every preset (paths.data_dir=...)")
    parser.add_argument("--real", action="store_true", help="run every command as a user does (about 90 minutes)")
    parser.add_argument("--skip", type=int, default=0, help="with --real: start after this many commands")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.real:
        print(real_machine_line())
        print(real_report(measure_real(args.overrides, args.skip)))
        return
    rows, machine = measure(args.overrides, args.repeats)
    print(report(rows, machine))


if __name__ == "__main__":
    main()
