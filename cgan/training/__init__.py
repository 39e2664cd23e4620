"""Build a run from a composed config and fit it.

    run.py         train(cfg): data, model, loggers, trainer, fit, resume
    callbacks.py   what a user sees while it trains: grids, real-data preview, the final-state checkpoint
    interrupts.py  Ctrl-C / SIGTERM / SLURM's signal: save at a batch boundary, say how to resume
    loggers.py     TensorBoard, CSV, MLflow and W&B, each able to continue its run after a resume
    progress.py    a progress bar on a terminal, progress lines in a log file
"""

from cgan.training.run import (
    TrainedRun,
    build_loggers,
    build_model,
    build_trainer,
    train,
)

__all__ = ["TrainedRun", "build_loggers", "build_model", "build_trainer", "train"]
