"""Ctrl-C, SIGTERM, SLURM's requeue signal and SIGKILL: what a stopped run leaves, and resuming from it."""

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import ROOT, run_cli
from test_reliability import step_values

from cgan.cli.train import main as train_main

# Real signals sent to real training processes: each test starts one or two interpreters.
pytestmark = pytest.mark.slow

# Slow enough per batch to be caught mid-run (log every batch), and never saved periodically by steps
# or time: any last.ckpt is the stop's own.
RUN = ["train.py", "data.source=sample", "data.batch_size=16", "trainer.max_steps=200000",
       "trainer.log_every_n_steps=1", "callbacks.model_checkpoint.every_n_train_steps=0",
       "callbacks.model_checkpoint.train_time_interval=null", "callbacks.class_grid.every_n_batches=0",
       "callbacks.generation_metrics=null", "print_config=false", "console.progress=log", "console.interval_s=0.5"]


def start(run_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *RUN, f"hydra.run.dir={run_dir}", *extra], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_training(proc: subprocess.Popen, lines: list[str], timeout: float = 120) -> None:
    """Read the output until the first progress line: batches are being trained."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        if "img/s" in line:
            return
    proc.kill()
    raise AssertionError("the run never reported progress:\n" + "".join(lines)[-2000:])


def finish(proc: subprocess.Popen, lines: list[str]) -> str:
    out, _ = proc.communicate(timeout=120)
    return "".join(lines) + out


def stopped_step(output: str) -> int:
    marker = "at global step "
    return int(output.split(marker, 1)[1].split(";", 1)[0])


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_the_batch_it_hit_and_the_run_resumes_from_it(tmp_path, signum, code):
    run_dir = tmp_path / "run"
    proc, lines = start(run_dir), []
    wait_for_training(proc, lines)
    time.sleep(1.0)
    proc.send_signal(signum)
    output = finish(proc, lines)
    assert proc.returncode == code, output[-2000:]
    assert "Traceback" not in output
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert 0 < ckpt["global_step"] == stopped_step(output)  # the batch it stopped at, said in the log
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["last.ckpt"]
    # Both optimizers are in it, at that same batch.
    assert [int(s["state"][0]["step"]) for s in ckpt["optimizer_states"]] == [ckpt["global_step"] // 2] * 2

    if signum == signal.SIGTERM:
        return  # the resume below is the same for every signal: checked once, after Ctrl-C
    # The printed command resumes it; run it with a target a little further on.
    command = shlex.split(output.split("resume with: ", 1)[1].splitlines()[0])
    assert command[:2] == ["python", "train.py"] and f"hydra.run.dir={run_dir}" in command
    assert command[-1] == "ckpt_path=last"
    target = ckpt["global_step"] + 40
    command = [f"trainer.max_steps={target}" if a.startswith("trainer.max_steps=") else a for a in command[2:]]
    code, stderr = run_cli(train_main, *command)  # in this process: the arguments are what is tested
    assert code == 0, stderr[-2000:]
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == target
    steps = [s for s, _ in step_values(run_dir)]
    assert steps == list(range(target // 2))  # one continuous curve: nothing lost, nothing twice


def test_a_second_ctrl_c_while_stopping_still_leaves_a_loadable_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    proc, lines = start(run_dir), []
    wait_for_training(proc, lines)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    output = finish(proc, lines)
    assert proc.returncode == 130, output[-2000:]
    assert "Still stopping" in output
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == stopped_step(output)


def test_the_slurm_signal_saves_and_asks_to_requeue(tmp_path):
    """What SLURM's --signal=USR1@120 does to a run of trainer=slurm (here without SLURM, so nothing
    to requeue: the save part is what can be checked on one machine)."""
    run_dir = tmp_path / "run"
    env_free = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    proc = subprocess.Popen([sys.executable, *RUN, f"hydra.run.dir={run_dir}", "requeue_signal=SIGUSR1"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env_free)
    lines = []
    wait_for_training(proc, lines)
    proc.send_signal(signal.SIGUSR1)
    output = finish(proc, lines)
    assert proc.returncode == 128 + signal.SIGUSR1, output[-2000:]
    assert "Not a SLURM job" in output and "resume with:" in output
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == stopped_step(output)


def test_a_time_based_checkpoint_comes_without_any_step_based_one(tmp_path):
    run_dir = tmp_path / "run"
    last = run_dir / "checkpoints" / "last.ckpt"
    proc = subprocess.Popen([sys.executable, *RUN, f"hydra.run.dir={run_dir}",
                             "callbacks.model_checkpoint.train_time_interval=00:00:01"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not last.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # let it refresh at least once more
    proc.kill()  # SIGKILL: nothing runs on the way out
    proc.wait()
    assert last.exists(), "no time-based checkpoint within the interval"
    assert sorted(p.name for p in last.parent.iterdir() if p.suffix == ".ckpt") == ["last.ckpt"]
    assert torch.load(last, weights_only=True)["global_step"] > 0
