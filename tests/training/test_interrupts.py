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
from conftest import ROOT
from test_reliability import step_values

from cgan.training.interrupts import GracefulStop


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


def test_sigterm_saves_the_batch_it_hit(tmp_path):
    """kill, Kubernetes, a spot instance: SIGTERM to a single-process run. (Ctrl-C, a second Ctrl-C and the
    resume command are tried under DDP below, where they are hardest.)"""
    run_dir = tmp_path / "run"
    proc, lines = start(run_dir), []
    wait_for_training(proc, lines)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    output = finish(proc, lines)
    assert proc.returncode == 143, output[-2000:]
    assert "Traceback" not in output
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert 0 < ckpt["global_step"] == stopped_step(output)  # the batch it stopped at, said in the log
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["last.ckpt"]
    # Both optimizers are in it, at that same batch.
    assert [int(s["state"][0]["step"]) for s in ckpt["optimizer_states"]] == [ckpt["global_step"] // 2] * 2


DDP = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]


def start_ddp(run_dir: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    """A two-rank gloo run in its own process group, as a shell runs a foreground job."""
    return subprocess.Popen([sys.executable, *RUN, *DDP, f"hydra.run.dir={run_dir}", *extra], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)


def assert_no_process_left(group: int) -> None:
    """Every rank of the run exited (no orphan waiting on a collective that never comes)."""
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(group, signal.SIGKILL)
    raise AssertionError("a rank of the stopped run was still running 10 s after it exited")


def run_dirs_under_outputs() -> set[Path]:
    return set((ROOT / "outputs").glob("*/*"))


def test_ctrl_c_stops_every_ddp_rank_at_one_batch_and_the_run_resumes_to_the_exact_step(tmp_path):
    run_dir, before = tmp_path / "run", run_dirs_under_outputs()
    proc, lines = start_ddp(run_dir), []
    wait_for_training(proc, lines)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: every process of the job gets it
    stopped_at = time.time()
    time.sleep(0.01)
    # An impatient second Ctrl-C while it saves changes nothing (its line: test_a_second_ctrl_c_...). Sent to
    # the launcher (rank 0, which saves) alone: the other rank may already be past its save.
    proc.send_signal(signal.SIGINT)
    output = finish(proc, lines)
    took = time.time() - stopped_at
    assert proc.returncode == 130, output[-3000:]
    assert took < 30, f"the stop took {took:.0f} s"
    assert_no_process_left(proc.pid)
    assert "Traceback" not in output and "Logging error" not in output
    assert output.count("Stopped by SIGINT") == 1  # rank 0 speaks for the run
    # Rank 0 alone writes: one checkpoint, one event file, and no second run dir from the other rank.
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["last.ckpt"]
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1
    assert run_dirs_under_outputs() == before
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert 0 < ckpt["global_step"] == stopped_step(output)

    # The printed command resumes it; run it with a target a little further on.
    target = ckpt["global_step"] + 6
    command = shlex.split(output.split("resume with: ", 1)[1].splitlines()[0])
    assert command[:2] == ["python", "train.py"] and f"hydra.run.dir={run_dir}" in command
    assert command[-1] == "ckpt_path=last"
    command = [f"trainer.max_steps={target}" if a.startswith("trainer.max_steps=") else a for a in command[2:]]
    resumed = subprocess.run([sys.executable, "train.py", *command], cwd=ROOT, capture_output=True, text=True,
                             timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == target
    assert [s for s, _ in step_values(run_dir)] == list(range(target // 2))  # one curve, nothing twice


def test_a_second_ctrl_c_only_says_it_is_saving_and_a_third_quits(caplog):
    stop = GracefulStop()
    with caplog.at_level("WARNING", logger="cgan.training.interrupts"):
        stop._handle(signal.SIGINT, None)
        stop._handle(signal.SIGINT, None)
    assert stop.received == signal.SIGINT
    assert "Received SIGINT" in caplog.text and "Still stopping: saving the checkpoint" in caplog.text
    with pytest.raises(KeyboardInterrupt):
        stop._handle(signal.SIGINT, None)


def test_slurm_signal_to_the_launching_process_stops_all_ddp_ranks_and_requeues_once(tmp_path):
    """SLURM's --signal=USR1@90 under trainer=slurm, simulated: a job id in the environment, an
    `scontrol` on PATH that records what it was asked, and the signal sent to the launching process
    only (as `scancel --signal` with --batch does): the other rank learns of it at the next batch."""
    run_dir = tmp_path / "run"
    bin_dir, calls = tmp_path / "bin", tmp_path / "scontrol_calls"
    bin_dir.mkdir()
    scontrol = bin_dir / "scontrol"
    scontrol.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    scontrol.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env.update(SLURM_JOB_ID="4242", PATH=f"{bin_dir}{os.pathsep}{env['PATH']}")
    proc, lines = start_ddp(run_dir, "requeue_signal=SIGUSR1", env=env), []
    wait_for_training(proc, lines)
    proc.send_signal(signal.SIGUSR1)
    output = finish(proc, lines)
    assert proc.returncode == 128 + signal.SIGUSR1, output[-3000:]
    assert_no_process_left(proc.pid)
    assert calls.read_text().splitlines() == ["requeue 4242"]  # once, by rank 0
    assert output.count("requeued; it resumes by itself") == 1
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == stopped_step(output)


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
