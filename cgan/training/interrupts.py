"""Stopping on a signal without losing work: Ctrl-C, SIGTERM (kill, Kubernetes, spot instances) and
the signal SLURM sends before a job's time limit.

Python's default Ctrl-C raises KeyboardInterrupt wherever the program happens to be (mid optimizer
step, say) and Lightning then exits without a checkpoint. :class:`GracefulStop` instead only notes
the signal; at the end of the batch being trained (every rank at the same batch) it writes
``last.ckpt`` atomically, flushes the loggers and raises :class:`TrainingInterrupted`, which the
entry point turns into one line with the resume command and exit code 128 + signal (130 for
Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

log = logging.getLogger(__name__)


class TrainingInterrupted(Exception):
    """Training stopped on a signal after saving ``ckpt_path`` (None if nothing could be saved)."""

    def __init__(self, signum: int, global_step: int, ckpt_path: Path | None, requeued: bool = False,
                 is_global_zero: bool = True):
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        self.global_step = global_step
        self.ckpt_path = ckpt_path
        self.requeued = requeued
        self.is_global_zero = is_global_zero  # under DDP every rank stops; rank 0 speaks for the run
        super().__init__(f"stopped by {self.signal_name} at global step {global_step}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


def parse_signal(name: str | int | None) -> signal.Signals | None:
    """``SIGUSR1`` / ``USR1`` / 10 -> signal.SIGUSR1; None stays None."""
    if name is None:
        return None
    if isinstance(name, int):
        return signal.Signals(name)
    key = name.upper() if name.upper().startswith("SIG") else "SIG" + name.upper()
    try:
        return signal.Signals[key]
    except KeyError:
        raise ValueError(f"unknown signal {name!r}; use e.g. SIGUSR1") from None


class GracefulStop(L.Callback):
    """Turns SIGINT, SIGTERM and ``requeue_signal`` into a checkpoint at the end of the current batch.

    A second Ctrl-C while stopping only says that it is saving (the save is atomic anyway: a hard
    kill leaves the previous ``last.ckpt`` whole); a third quits at once without saving.
    ``requeue_signal`` (SLURM's ``--signal=USR1@90``): also ``scontrol requeue`` the job, so it runs
    again and resumes from ``last.ckpt`` (``trainer=slurm``).
    """

    def __init__(self, requeue_signal: str | None = None, checkpoint_dir: str | Path | None = None):
        self.requeue_signal = parse_signal(requeue_signal)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.received: int | None = None
        self._count = 0
        self._saved: TrainingInterrupted | None = None
        self._previous: dict[int, object] = {}

    # -- signal handling (main thread only; other threads cannot install handlers) -------------------
    @property
    def signals(self) -> list[int]:
        wanted = [signal.SIGINT, signal.SIGTERM]
        if self.requeue_signal is not None:
            wanted.append(self.requeue_signal)
        return wanted

    @staticmethod
    def _say(message: str, *args) -> None:
        """Log from inside a signal handler: the signal may have interrupted a write to the same stream, and
        logging would then print its own traceback ("reentrant call"); such a line is dropped instead."""
        raising, logging.raiseExceptions = logging.raiseExceptions, False
        try:
            log.warning(message, *args)
        finally:
            logging.raiseExceptions = raising

    def _handle(self, signum: int, frame) -> None:
        self._count += 1
        if self.received is None:
            self.received = signum
            self._say("Received %s: finishing this batch, then saving last.ckpt and stopping "
                      "(Ctrl-C twice more quits without saving)", signal.Signals(signum).name)
        elif self._count == 2:
            self._say("Still stopping: saving the checkpoint of this batch (Ctrl-C once more quits without it)")
        elif signum == signal.SIGINT:
            self._restore()
            raise KeyboardInterrupt

    def _install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in self.signals:
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)

    def _restore(self) -> None:
        for signum, previous in self._previous.items():
            if signal.getsignal(signum) == self._handle and previous is not None:
                signal.signal(signum, previous)
        self._previous = {}

    # -- Lightning hooks ------------------------------------------------------------------------------
    def on_train_start(self, trainer, pl_module) -> None:
        # After Lightning registered its own SIGTERM handler (which would stop without saving).
        self.received, self._count, self._saved = None, 0, None
        self._install()

    def teardown(self, trainer, pl_module, stage: str) -> None:
        self._restore()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._saved is None:
            signum = self._signal_on_any_rank(trainer)
            if signum:
                self._saved = self._save(trainer, signum)

    def _signal_on_any_rank(self, trainer) -> int:
        """The signal any rank received (0 for none), the same on every rank, so all save and stop at this
        batch and name the same signal: a scheduler may signal only the launching process. One small
        all-reduce per batch under DDP; nothing on one device."""
        mine = int(self.received or 0)
        if trainer.world_size == 1:
            return mine
        flag = torch.tensor(mine, device=trainer.strategy.root_device)
        return int(trainer.strategy.reduce(flag, reduce_op="max").item())

    # The batch's own scalars are logged after on_train_batch_end; stop at the next hook, once they are.
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._stop_if_saved(trainer)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._stop_if_saved(trainer)

    def on_validation_start(self, trainer, pl_module) -> None:
        self._stop_if_saved(trainer)

    def on_train_end(self, trainer, pl_module) -> None:
        self._stop_if_saved(trainer)

    def _stop_if_saved(self, trainer) -> None:
        if self._saved is not None:
            for logger in trainer.loggers:
                logger.save()
            raise self._saved

    def _save(self, trainer, signum: int) -> TrainingInterrupted:
        keeper = next((c for c in trainer.checkpoint_callbacks
                       if isinstance(c, ModelCheckpoint) and c.save_last and c.dirpath), None)
        if keeper is not None:  # its own way, so its bookkeeping (last_model_path) stays right on resume
            keeper._save_last_checkpoint(trainer, keeper._monitor_candidates(trainer))
            path = Path(keeper.last_model_path)
        else:  # callbacks=none: still save, where a run keeps its checkpoints
            path = (self.checkpoint_dir or Path(trainer.default_root_dir) / "checkpoints") / "last.ckpt"
            trainer.save_checkpoint(path)  # atomic (cgan.checkpoints.AtomicCheckpointIO); rank 0 writes
        requeued = self.requeue_signal is not None and signum == self.requeue_signal and self._requeue(trainer)
        return TrainingInterrupted(signum, trainer.global_step, path, requeued, trainer.is_global_zero)

    @staticmethod
    def _requeue(trainer) -> bool:
        """``scontrol requeue`` this SLURM job (rank 0); False when not under SLURM or it failed."""
        if not trainer.is_global_zero:
            return False
        array_id = os.environ.get("SLURM_ARRAY_JOB_ID")
        job_id = f"{array_id}_{os.environ['SLURM_ARRAY_TASK_ID']}" if array_id else os.environ.get("SLURM_JOB_ID")
        if not job_id:
            log.warning("Not a SLURM job (no SLURM_JOB_ID): saved, but nothing to requeue")
            return False
        try:
            done = subprocess.run(["scontrol", "requeue", job_id], check=False, capture_output=True, text=True)
        except OSError as err:
            log.warning("Could not requeue SLURM job %s: %s", job_id, err)
            return False
        if done.returncode != 0:
            log.warning("scontrol requeue %s failed: %s", job_id, done.stderr.strip())
            return False
        log.info("Requeued SLURM job %s: it resumes from last.ckpt when it starts again", job_id)
        return True
