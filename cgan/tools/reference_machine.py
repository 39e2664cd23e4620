"""The reference-machine table of docs/devices-speed-sweeps.md: what this machine is, its measured float32
peaks, and the training speed of each preset the pages name, with the images a full run of it sees.

    python -m cgan.tools.reference_machine [--repeats 2] [train overrides for every preset, e.g. paths.data_dir=...]

Each preset trains a fixed number of batches through train.py's own path (cgan-bench's framework timing:
Lightning, the model, the DataModule; checkpoints, grids, validation and metrics off), the presets
interleaved ``--repeats`` times, the median kept. Minutes of a full run are its images over that rate:
training steps alone, so a real run with its grids, validation and metrics takes somewhat longer.
Keep the machine quiet while it runs (no test suite beside it): about 10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import tempfile
from pathlib import Path

import torch
from omegaconf import DictConfig

from cgan.data import build_datamodule
from cgan.tools.bench import compose_config, conv_peak, matmul_peak, time_framework
from cgan.training import compose_train_config
from cgan.training.callbacks import parse_interval

# (what the pages call it, its overrides, batches timed per repeat: about 20 s each on 2 cores)
PRESETS = [
    ("python train.py", [], 300),
    ("python train.py model=dcgan data=rps (on a CPU)", ["model=dcgan", "data=rps"], 20),
    ("experiment=mnist_5min", ["experiment=mnist_5min"], 150),
    ("experiment=mnist_best", ["experiment=mnist_best"], 150),
    ("experiment=rps_best", ["experiment=rps_best"], 50),
    ("experiment=rps_resnet", ["experiment=rps_resnet"], 60),
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
    return f"{name}, {os.cpu_count()} cores, {vector}"


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
    rates: dict[str, list[float]] = {name: [] for name, _, _ in PRESETS}
    built = {}
    for _ in range(repeats):  # interleaved: a slow spell of the machine hits every preset alike
        for name, overrides, batches in PRESETS:
            cfg = compose_config([*overrides, *shared], Path(tempfile.mkdtemp(prefix="cgan-reference-")))
            if name not in built:  # the data read once per preset
                built[name] = build_datamodule(cfg)
            rates[name].append(time_framework(cfg, built[name], n_warmup=max(3, batches // 10), n_timed=batches))
    rows = []
    for name, overrides, _ in PRESETS:
        rate = statistics.median(rates[name])
        full = compose_train_config([*overrides, *shared], tempfile.mkdtemp(prefix="cgan-reference-"))  # as train.py
        images, decided_by = full_run_images(full, built[name], rate)
        rows.append({"preset": name, "images_per_s": rate, "full_run_images": images,
                     "decided_by": decided_by, "minutes": images / rate / 60,
                     "batch": full.data.batch_size, "size": "x".join(map(str, built[name].image_shape[1:]))})
    device = torch.device("cpu")
    machine = {"cpu": cpu_description(), "threads": torch.get_num_threads(), "torch": torch.__version__,
               "matmul_gflops": matmul_peak(device) / 1e9, "conv_gflops": conv_peak(device) / 1e9}
    return rows, machine


def report(rows: list[dict], machine: dict) -> str:
    lines = [f"{machine['cpu']}; torch {machine['torch']}, {machine['threads']} threads; float32 peaks measured: "
             f"matmul {machine['matmul_gflops']:.0f} GFLOP/s, 3x3 conv {machine['conv_gflops']:.0f} GFLOP/s", "",
             "| preset | images | batch | images/s (training steps) | a full run | images seen | minutes |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        lines.append(f"| `{row['preset']}` | {row['size']} | {row['batch']} | {row['images_per_s']:,.0f} | "
                     f"{row['decided_by']} | {row['full_run_images']:,} | {row['minutes']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="interleaved repetitions, median kept (default 2)")
    parser.add_argument("overrides", nargs="*", help="train overrides for every preset (paths.data_dir=...)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows, machine = measure(args.overrides, args.repeats)
    print(report(rows, machine))


if __name__ == "__main__":
    main()
