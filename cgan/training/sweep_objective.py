"""A sweep's objective (``optimized_metric``, e.g. Optuna's ``metrics/fid``), checked before anything trains.

A search over trials that never report their metric fails only at its end ("No trials are completed yet"),
after every trial's minutes are spent. Each way that happens is known at start: metrics switched off, no
classifier to score with, or a trial that ends before its first scoring."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig


def first_scoring_batch(cfg: DictConfig) -> int | None:
    """The batch at which the metrics callback first scores, when batch counts decide it (None: by epochs)."""
    scorer = cfg.callbacks.generation_metrics
    if scorer.get("every_n_batches"):
        return int(scorer.every_n_batches)
    interval = cfg.trainer.get("val_check_interval")
    if isinstance(interval, int) and not isinstance(interval, bool) and cfg.trainer.get("check_val_every_n_epoch") is None:
        return interval * int(scorer.get("every_n_val", 1))
    return None


def objective_problem(cfg: DictConfig) -> str | None:
    """One sentence when ``optimized_metric`` is a metric that this run can never report, else None."""
    metric = cfg.get("optimized_metric")
    if not metric or not str(metric).startswith("metrics/"):
        return None
    scorer = (cfg.get("callbacks") or {}).get("generation_metrics")
    if not scorer:
        return (f"optimized_metric={metric} is reported by callbacks.generation_metrics, which this config "
                "turns off: keep callbacks=default")
    judge = Path(scorer.classifier_path)
    if not judge.is_file():
        return (f"optimized_metric={metric} needs the classifier {judge}, which is not there, so no trial could "
                "report it: make it first with cgan-judge (with the same data=... and paths.* overrides), then "
                "start the search again")
    first = first_scoring_batch(cfg)
    steps = cfg.trainer.get("max_steps", -1)
    if first is not None and steps not in (None, -1) and steps // 2 < first:
        return (f"each trial ends after {steps // 2} batches (trainer.max_steps={steps}), before its first "
                f"scoring at batch {first} (trainer.val_check_interval x callbacks.generation_metrics.every_n_val), "
                f"so no trial would report {metric}: give each trial more images or score sooner")
    epochs, every = cfg.trainer.get("max_epochs"), cfg.trainer.get("check_val_every_n_epoch")
    if first is None and steps in (None, -1) and epochs not in (None, -1) and every:
        first_epoch = every * int(scorer.get("every_n_val", 1))
        if epochs < first_epoch:
            return (f"each trial ends after {epochs} epochs, before its first scoring after epoch {first_epoch} "
                    "(trainer.check_val_every_n_epoch x callbacks.generation_metrics.every_n_val), so no trial "
                    f"would report {metric}: train more epochs or score sooner")
    return None
