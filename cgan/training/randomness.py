"""Each rank's own random stream, saved in every checkpoint and given back to its rank on resume.

G's noise and DiffAugment's draws come from the process's global generators. ``seed_everything`` seeds
every rank alike, so on N devices the N copies of G's batch would be the same images and the
augmentations would repeat. Here rank r > 0 reseeds from (seed, r) before training (rank 0 keeps the
stream a one-device run draws), and a checkpoint holds every rank's torch (CUDA), numpy and Python
states, so a resumed multi-device run draws exactly what the straight run would have drawn.

The fixed-noise grids and the in-training metrics draw from their own seeded generators, so they are
the same pictures and numbers whatever the number of devices.
"""

from __future__ import annotations

import logging
import random

import lightning as L
import numpy as np
import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


def rank_seed(seed: int, rank: int) -> int:
    """A seed for ``rank`` drawn from (seed, rank): far from every other rank's, the same on every run."""
    return int(np.random.SeedSequence([seed, rank]).generate_state(1, dtype=np.uint64)[0] >> 1)


def seed_rank(seed: int, rank: int) -> None:
    """Reseed torch (every CUDA device too), numpy and Python's random for ``rank``."""
    value = rank_seed(seed, rank)
    torch.manual_seed(value)
    np.random.seed(value % 2**32)
    random.seed(value)


def rng_state() -> dict:
    """This process's random states, in types a ``weights_only`` checkpoint load accepts."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    numpy_state = (name, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(cached))
    state = {"torch": torch.get_rng_state(), "numpy": numpy_state, "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "numpy" in state:
        name, keys, position, has_gauss, cached = state["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    if "python" in state:
        random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def every_ranks_state(world_size: int) -> list[dict]:
    """[rank 0's state, rank 1's, ...]: a collective under DDP, so every rank calls it at once (each
    checkpoint save is one, on every rank)."""
    state = rng_state()
    if world_size == 1 or not dist.is_available() or not dist.is_initialized():
        return [state]
    states = [None] * world_size
    dist.all_gather_object(states, state)
    return states


class RankRandomness(L.Callback):
    """Per-rank random streams (see the module's docstring). ``seed`` is the run's; with none, rank 0's
    initial torch seed stands in for it, so the ranks still differ from one another."""

    def __init__(self, seed: int | None):
        self.seed = seed
        self._resumed: list[dict] | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage != "fit" or trainer.world_size == 1:
            return
        seed = self.seed
        if seed is None:
            seed = trainer.strategy.broadcast(torch.initial_seed(), src=0)
        if trainer.global_rank > 0:  # before the sanity check, whose validation draws noise too
            seed_rank(seed, trainer.global_rank)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        checkpoint["rng_states"] = {"per_rank": every_ranks_state(trainer.world_size)}

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        states = checkpoint.get("rng_states")
        if states is None:
            self._resumed = None
        elif "per_rank" in states:
            self._resumed = states["per_rank"]
        else:  # an older checkpoint: rank 0's torch state only
            self._resumed = [states]

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # After the sanity check, so a resumed run continues where the saved batch left every stream.
        states, self._resumed = self._resumed, None
        if not states:
            return
        rank, world = trainer.global_rank, trainer.world_size
        if len(states) != world and trainer.is_global_zero:
            log.warning("Resumed on %d device(s) from a checkpoint of %d: rank 0 continues its random stream, "
                        "the other ranks start theirs from (seed, rank), so this is not the run it continues",
                        world, len(states))
        if rank < len(states) and (len(states) == world or rank == 0):
            set_rng_state(states[rank])
