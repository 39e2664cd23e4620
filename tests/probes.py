"""Callbacks the tests add to a training run (``+callbacks.<name>._target_=probes.<Class>``; tests/ is on
the path, for subprocesses through PYTHONPATH)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import lightning as L
import torch

from cgan.checkpoints import batches_trained


class RankProbe(L.Callback):
    """Each rank writes down what its G drew in the training step of every batch (the noise and the
    images), and ADA's p, to ``<out_dir>/rank<r>.pt``."""

    def __init__(self, out_dir: str):
        self.out_dir = Path(out_dir)
        self.noise: dict[int, torch.Tensor] = {}
        self.fakes: dict[int, torch.Tensor] = {}
        self._batch: int | None = None
        self._hook = None

    def on_train_start(self, trainer, pl_module) -> None:
        self._hook = pl_module.generator.register_forward_hook(self._keep)

    def _keep(self, module, inputs, output) -> None:
        if self._batch is not None and self._batch not in self.fakes:  # the training step's G forward
            self.noise[self._batch] = inputs[0].detach().cpu().clone()
            self.fakes[self._batch] = output.detach().cpu().clone()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._batch = batches_trained(trainer)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._batch = None

    def on_exception(self, trainer, pl_module, exception) -> None:  # a stopped run writes what it drew too
        self.on_train_end(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        self._hook.remove()
        ada = getattr(pl_module.augment, "ada_state", None)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        torch.save({"noise": self.noise, "fakes": self.fakes, "ada_p": None if ada is None else float(ada[0])},
                   self.out_dir / f"rank{trainer.global_rank}.pt")


class CtrlCAtBatch(L.Callback):
    """Sends this process SIGINT (what Ctrl-C, or a notebook's stop button, sends) after batch ``batch``."""

    def __init__(self, batch: int):
        self.batch = batch

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batches_trained(trainer) + 1 == self.batch:
            os.kill(os.getpid(), signal.SIGINT)
