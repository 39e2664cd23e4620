"""Quality against images seen: train a config for a fixed image budget and score it along the way.

    cgan-quality [--images 850000] [--every 85000] [--n-per-class 100] [train overrides ...]
    cgan-quality --images 400000 paths.data_dir=/path/to/data model.objective.loss=hinge

Trains exactly like train.py (same config, same run-dir outputs under outputs/quality/) and, every
``--every`` images, measures conditional accuracy, FID, KID and mean intra-class FID with the
dataset's classifier (make it first: ``cgan-judge``). Prints one row per measurement with
the wall-clock minutes, so presets can be compared on equal budgets.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from datetime import datetime
from pathlib import Path

from omegaconf import open_dict

from cgan.config import compose
from cgan.data import build_datamodule
from cgan.errors import UserError
from cgan.metrics import GenerationMetrics
from cgan.training import build_loggers, build_model, build_trainer

log = logging.getLogger(__name__)


def run(args) -> list[dict]:
    # Microseconds: two benchmarks started in the same second must not share a run dir.
    run_dir = Path("outputs/quality") / datetime.now().strftime("%Y-%m-%d_%H-%M-%S_%f")
    cfg = compose("train", args.overrides, run_dir)
    batch = cfg.data.batch_size
    with open_dict(cfg):
        cfg.print_config = False
        cfg.trainer.max_epochs = -1
        cfg.trainer.max_steps = 2 * math.ceil(args.images / batch)  # D and G step per batch
        cfg.trainer.limit_val_batches = 0
        cfg.trainer.enable_progress_bar = False
        cfg.trainer.enable_model_summary = False
        metrics_cfg = cfg.callbacks.get("generation_metrics")
        if not metrics_cfg:
            raise UserError("the quality benchmark needs callbacks.generation_metrics (callbacks=default)")
        metrics_cfg.every_n_batches = max(1, round(args.every / batch))
        metrics_cfg.n_per_class = args.n_per_class
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    trainer = build_trainer(cfg, build_loggers(cfg))
    scorer = next(c for c in trainer.callbacks if isinstance(c, GenerationMetrics))
    rows, start = [], time.perf_counter()

    def collect(images_seen: int, result: dict) -> None:
        row = {"images": images_seen, "minutes": (time.perf_counter() - start) / 60, **result}
        rows.append(row)
        print(f"{row['images']:>10,}{row['minutes']:>9.1f}{result['conditional_accuracy']:>10.3f}"
              f"{result['fid']:>10.2f}{result['kid_x1000']:>10.2f}{result['intra_class_fid_mean']:>11.2f}"
              f"{result['precision']:>7.2f}{result['recall']:>7.2f}"
              + (f"{result['fid_floor']:>9.2f}" if "fid_floor" in result else f"{'':>9}"), flush=True)

    scorer.on_result = collect
    print(f"{'images':>10}{'minutes':>9}{'cond.acc':>10}{'FID':>10}{'KIDx1000':>10}{'intra FID':>11}{'prec':>7}{'recall':>7}{'floor':>9}")
    trainer.fit(model, datamodule=datamodule)
    if not scorer.enabled:
        raise UserError(f"no classifier at {scorer.classifier_path}; make it with cgan-judge "
                        "(same data and paths overrides)")
    log.info("Run dir: %s", run_dir)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=850_000, help="training images in all (default 850,000)")
    parser.add_argument("--every", type=int, default=85_000, help="measure every N images (default 85,000)")
    parser.add_argument("--n-per-class", type=int, default=100, help="generated images per class per measure")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/train.yaml, as for train.py")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        run(args)
    except UserError as err:
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    main()
