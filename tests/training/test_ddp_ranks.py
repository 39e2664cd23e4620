"""Two CPU ranks (gloo): each rank its own noise, ADA agreed, a stopped and resumed run equal to the straight run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT

pytestmark = pytest.mark.slow  # each run starts two interpreters

# Tiny DCGAN on the bundled digits, 16 images a step over both ranks, ADA on (moved every batch), EMA on; no
# metrics, no grids.
RUN = ["train.py", "data.source=sample", "data.global_batch_size=16", "model=dcgan",
       "model.generator.base_width=8", "model.discriminator.base_width=8", "model.augment.policy=[translation,cutout]",
       "model.augment.ada_target=0.01", "model.augment.ada_interval=1", "model.augment.ada_images=500", "model.ema.decay=0.9",
       "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.limit_val_batches=0",
       "callbacks.generation_metrics=null", "callbacks.class_grid.every_n_batches=0",
       "callbacks.model_checkpoint.every_n_train_steps=0", "callbacks.model_checkpoint.train_time_interval=null",
       "print_config=false", "console.progress=log", "seed=7",
       # R3GAN's loss and penalties (lazy), on a cosine schedule over the run
       "model.objective.loss=rpgan", "model.penalty.r1_gamma=0.5", "model.penalty.r2_gamma=0.5", "model.penalty.interval=2",
       "model.optimizer.schedule.shape=cosine", "model.optimizer.schedule.lr_end=0.25", "model.optimizer.schedule.gamma_end=0.1",
       "model.optimizer.schedule.beta2_start=0.9"]


def train(run_dir: Path, *extra: str, exit_code: int = 0) -> None:
    probe = ["+callbacks.rank_probe._target_=probes.RankProbe",
             f"+callbacks.rank_probe.out_dir={run_dir / 'probe'}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}  # probes.py, for both ranks
    done = subprocess.run([sys.executable, *RUN, f"hydra.run.dir={run_dir}", *probe, *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == exit_code, done.stdout[-2000:] + done.stderr[-3000:]


def probes(run_dir: Path) -> list[dict]:
    return [torch.load(run_dir / "probe" / f"rank{r}.pt", weights_only=True) for r in (0, 1)]


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    return {k: v for k, v in state.items() if k.startswith(("generator.", "generator_ema.", "discriminator."))}


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    """A 2-rank run of 8 batches (16 optimizer steps)."""
    run_dir = tmp_path_factory.mktemp("straight")
    train(run_dir, "trainer.max_steps=16")
    return run_dir


@pytest.fixture(scope="module")
def halves(tmp_path_factory) -> tuple[Path, dict]:
    """The same run (same seed, two ranks) stopped by Ctrl-C after 4 batches, then resumed to 8: (its run
    dir, the probes of its first half)."""
    run_dir = tmp_path_factory.mktemp("halves")
    train(run_dir, "trainer.max_steps=16", "+callbacks.stop._target_=probes.CtrlCAtBatch", "+callbacks.stop.batch=4",
          exit_code=130)
    first_half = probes(run_dir)
    train(run_dir, "trainer.max_steps=16", "ckpt_path=last")
    return run_dir, first_half


def test_each_rank_draws_its_own_noise_and_the_same_seed_repeats_the_run(straight, halves):
    rank0, rank1 = probes(straight)
    assert sorted(rank0["fakes"]) == sorted(rank1["fakes"]) == list(range(8))
    assert rank0["noise"][0].shape[0] == rank1["noise"][0].shape[0] == 8  # data.global_batch_size=16 over 2
    for batch in range(8):  # the two halves of the global batch come from different noise at every step
        assert not torch.allclose(rank0["noise"][batch], rank1["noise"][batch])
        assert not torch.allclose(rank0["fakes"][batch], rank1["fakes"][batch])
    again = halves[1]  # a second run with the same seed on two ranks draws the same, rank by rank
    for before, after in zip((rank0, rank1), again):
        assert sorted(after["fakes"]) == [0, 1, 2, 3]
        assert all(torch.equal(before[k][b], after[k][b]) for k in ("noise", "fakes") for b in range(4))


def test_ada_probability_is_the_same_on_both_ranks(straight):
    rank0, rank1 = probes(straight)
    assert rank0["ada_p"] == rank1["ada_p"] > 0  # target 0.01: D is soon sure of the reals, p rises


def test_two_ranks_stopped_at_n_and_resumed_to_2n_end_on_the_straight_runs_weights(straight, halves):
    run_dir = halves[0]
    saved = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["global_step"] == 16 and len(saved["rng_states"]["per_rank"]) == 2  # each rank's streams
    assert saved["hyper_parameters"]["objective"]["loss"] == "rpgan"
    resumed, expected = weights(run_dir), weights(straight)
    assert resumed.keys() == expected.keys() and any(k.startswith("generator_ema.") for k in expected)
    for key, value in expected.items():
        assert torch.equal(resumed[key], value), key
    # Rank 1's noise after the resume is the straight run's rank 1 noise at the same batch.
    assert torch.equal(probes(run_dir)[1]["noise"][4], probes(straight)[1]["noise"][4])
