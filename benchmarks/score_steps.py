"""Quality against images seen, from one run: cgan-evaluate on each of its step checkpoints, one table row each.

    python -m benchmarks.score_steps RUN_DIR [evaluate overrides ...] [--images 20000 40000 80000 120000]
    python -m benchmarks.score_steps outputs/budget_curve/seed42 data=rps paths.data_dir=/path/to/data
    python -m benchmarks.score_steps outputs/probes/ema10k/checkpoints/last.ckpt data=rps   # one checkpoint

Train the run with checkpoints at the budgets to compare (``callbacks.model_checkpoint.every_n_train_steps``:
two optimizer steps per batch), then this scores each ``step*.ckpt`` whose images seen are in ``--images``
(within 1%; all of them without it) with ``cgan-evaluate`` (both judges and the spectrum; the ``*_metrics.json`` beside
each checkpoint is reused when there), and prints a markdown table: images, conditional accuracy, FID and its
multiple of the real-vs-real floor, precision, recall, the strict judge's FID and precision, the spectral
distance and the spectrum's bands against the photos'.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch
from omegaconf import OmegaConf


def images_seen(ckpt: Path) -> int:
    """Batches trained x the batch size the run was configured with."""
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    batches = state["loops"]["fit_loop"]["epoch_loop.state_dict"]["_batches_that_stepped"]
    config = OmegaConf.load(ckpt.parent.parent / ".hydra" / "config.yaml")
    return batches * int(config.data.batch_size)


def scores(ckpt: Path, overrides: list[str]) -> dict:
    out = ckpt.with_name(ckpt.stem + "_metrics.json")
    if not out.is_file():
        subprocess.run(["cgan-evaluate", f"ckpt_path={ckpt}", *overrides], check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def row(images: int, m: dict) -> str:
    bands = " ".join(f"{v:.2f}" for v in m["spectrum_bands"].values())
    return (f"| {images:,} | {m['conditional_accuracy']:.3f} | {m['fid']:.2f} ({m['fid'] / m['fid_floor']:.0f}x) | "
            f"{m['precision']:.3f} | {m['recall']:.3f} | {m['strict_fid']:.2f} | {m['strict_precision']:.3f} | "
            f"{m['spectral_distance']:.3f} | {bands} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a run folder (its step*.ckpt) or one checkpoint")
    parser.add_argument("--images", type=int, nargs="+", help="only the checkpoints at these images seen")
    parser.add_argument("overrides", nargs="*", help="cgan-evaluate overrides (data=..., paths.data_dir=...)")
    args = parser.parse_args(argv)
    checkpoints = ([args.run_dir] if args.run_dir.suffix == ".ckpt"
                   else sorted((args.run_dir / "checkpoints").glob("step*.ckpt")))
    if not checkpoints:
        sys.exit(f"no step*.ckpt under {args.run_dir / 'checkpoints'}")
    print("| images | acc | FID (x floor) | precision | recall | strict FID | strict precision | spectral distance | "
          "bands (photos = 1) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for ckpt in checkpoints:
        images = images_seen(ckpt)
        # A checkpoint written at global step 2n holds n - 1 finished batches: match within 1%.
        if args.images and not any(abs(images - wanted) <= 0.01 * wanted for wanted in args.images):
            continue
        print(row(images, scores(ckpt, args.overrides)), flush=True)


if __name__ == "__main__":
    main()
