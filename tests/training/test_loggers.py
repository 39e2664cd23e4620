"""Loggers (CSV, MLflow, W&B), debug presets and the sweep launchers."""
import csv
import json
import os
import re
from pathlib import Path

import pytest
import torch
from conftest import ROOT, TINY, compose_train, run_cli, run_script
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cgan.cli.train import main as train_main
from cgan.config import compose
from cgan.training import train

SHORT = [o for o in TINY if not o.startswith("trainer.max_steps")] + ["callbacks.generation_metrics=null"]


def csv_rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "csv" / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_csv_logger_writes_losses_and_a_resumed_run_appends(tmp_path):
    run_dir = tmp_path / "run"
    overrides = [*SHORT, "logger=csv", "callbacks.model_checkpoint.every_n_train_steps=20"]
    train(compose_train(run_dir, [*overrides, "trainer.max_steps=30"]))  # 15 batches, checkpoint at 10
    logged = [int(r["step"]) for r in csv_rows(run_dir) if r.get("train/d_loss_step")]
    assert logged == list(range(1, 15, 2)) and (run_dir / "csv" / "hparams.yaml").is_file()
    assert sorted(p.name for p in (run_dir / "grids").iterdir())  # pictures: PNG files, not CSV

    train(compose_train(run_dir, [*overrides, "trainer.max_steps=40", "ckpt_path=last"]))
    steps = [int(r["step"]) for r in csv_rows(run_dir) if r.get("train/d_loss_step")]
    assert steps == list(range(1, 20, 2))  # the rows before the checkpoint kept, none twice


@pytest.mark.slow
def test_mlflow_logger_gets_losses_grids_and_one_run_across_a_resume(tmp_path):
    mlflow = pytest.importorskip("mlflow")
    run_dir, store = tmp_path / "run", tmp_path / "mlflow"
    overrides = [*SHORT, "logger=mlflow", f"paths.mlflow_dir={store}",
                 "callbacks.model_checkpoint.every_n_train_steps=20"]
    train(compose_train(run_dir, [*overrides, "trainer.max_steps=30"]))
    run_id = json.loads((run_dir / "loggers.json").read_text())["mlflow"]
    train(compose_train(run_dir, [*overrides, "trainer.max_steps=40", "ckpt_path=last"]))
    assert json.loads((run_dir / "loggers.json").read_text())["mlflow"] == run_id

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{store}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("cgan").experiment_id])
    assert [r.info.run_id for r in runs] == [run_id]  # the resume continued it
    history = client.get_metric_history(run_id, "train/d_loss_step")
    assert sorted({m.step for m in history}) == list(range(1, 20, 2))
    assert runs[0].data.params["model/objective/loss"] == "bce"  # the settings, flattened
    # MLflow params never change: the first value stays, the resume's change is noted
    assert runs[0].data.params["trainer/max_steps"] == "30"
    assert "trainer/max_steps: 30 -> 40" in runs[0].data.tags["resumed_changes"]
    artifacts = [a.path for a in client.list_artifacts(run_id)]
    assert "images" in artifacts or any("samples_per_class" in a for a in artifacts), artifacts


@pytest.mark.slow
def test_wandb_logger_runs_offline_without_a_key_and_a_resume_keeps_its_run(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    for var in ("WANDB_API_KEY", "WANDB_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    run_dir = tmp_path / "run"
    overrides = [*SHORT, "logger=wandb", "callbacks.model_checkpoint.every_n_train_steps=20"]
    train(compose_train(run_dir, [*overrides, "trainer.max_steps=30"]))
    run_id = json.loads((run_dir / "loggers.json").read_text())["wandb"]
    train(compose_train(run_dir, [*overrides, "trainer.max_steps=40", "ckpt_path=last"]))

    parts = sorted((run_dir / "wandb").glob("offline-run-*"))  # `wandb sync` uploads both into one run
    # W&B names a part offline-run-<time>-<id>, adding -1 when both start within one second
    assert len(parts) == 2 and all(re.search(rf"-{run_id}(-\d+)?$", p.name) for p in parts), parts
    assert all((p / f"run-{run_id}.wandb").stat().st_size > 0 for p in parts)
    media = parts[0] / "files" / "media" / "images"
    assert list((media / "samples").glob("per_class_*.png")) and list((media / "data").glob("real_per_class_*.png"))


@pytest.mark.slow
def test_each_multirun_job_gets_its_own_wandb_run(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    for var in ("WANDB_API_KEY", "WANDB_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    ids = []
    for seed in (1, 2):  # the default launcher runs a sweep's jobs one after another in one process
        run_dir = tmp_path / f"run{seed}"
        train(compose_train(run_dir, [*SHORT, "logger=wandb", "trainer.max_steps=4", f"seed={seed}"]))
        ids.append(json.loads((run_dir / "loggers.json").read_text())["wandb"])
    assert ids[0] != ids[1]


def test_a_missing_logger_package_is_one_sentence(tmp_path, monkeypatch):
    import lightning.pytorch.loggers.mlflow as lightning_mlflow

    monkeypatch.setattr(lightning_mlflow, "_MLFLOW_AVAILABLE", False)

    code, stderr = run_cli(train_main, "data.source=sample", "logger=mlflow", f"hydra.run.dir={tmp_path}/run")
    assert code == 2 and "pip install -e '.[mlflow]'" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("preset", ["fast_dev_run", "overfit", "profiler", "anomaly"])
def test_debug_presets_compose(tmp_path, preset):
    cfg = compose_train(tmp_path, [f"debug={preset}"])
    assert cfg.trainer.get({"fast_dev_run": "fast_dev_run", "overfit": "overfit_batches",
                            "profiler": "profiler", "anomaly": "detect_anomaly"}[preset])


def test_fast_dev_run_finishes_without_writing_into_outputs(monkeypatch):
    monkeypatch.chdir(ROOT)  # where a user types it
    before = set((ROOT / "outputs").rglob("*"))
    code, stderr = run_cli(train_main, "debug=fast_dev_run", "data.source=sample")
    assert code == 0, stderr[-2000:]
    assert set((ROOT / "outputs").rglob("*")) == before


@pytest.mark.slow
def test_profiler_preset_writes_its_report(tmp_path):
    run_dir = tmp_path / "run"
    train(compose_train(run_dir, [*SHORT, "debug=profiler", "trainer.max_steps=10"]))
    report = next(run_dir.glob("*profile*.txt"))
    assert "run_training_batch" in report.read_text()


@pytest.mark.slow
def test_joblib_launcher_runs_two_jobs(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    result = run_script("train.py", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                        "seed=1,2", f"hydra.sweep.dir={tmp_path}", *SHORT, "trainer.max_steps=10", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    threads = max(1, (os.cpu_count() or 1) // 2)  # each job its share of the cores, unasked
    for job in ("0", "1"):
        (job_dir,) = tmp_path.glob(f"{job}_*")  # named by the job's number and its overrides (shortened here)
        assert (job_dir / "checkpoints" / "last.ckpt").is_file()
        assert f"num_threads={threads} per job" in (job_dir / "train.log").read_text()
    steps = [torch.load(p, weights_only=True)["global_step"] for p in tmp_path.glob("*/checkpoints/last.ckpt")]
    assert steps == [10, 10]  # each job its 5 batches (a D and a G step each)


def test_slurm_launcher_config_composes():
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    cfg = compose("train", ["hydra/launcher=slurm_gpu", "trainer=gpu"], keep_hydra=True)
    launcher = cfg.hydra.launcher
    assert "SlurmLauncher" in launcher._target_ and launcher.gpus_per_node == 1 and launcher.tasks_per_node == 1


def test_a_crashed_run_still_shows_its_settings_beside_its_last_metrics(tmp_path, monkeypatch):
    from cgan.model import ConditionalGAN
    from cgan.training import train

    original = ConditionalGAN.training_step

    def crash_at_batch_6(self, batch, batch_idx):
        if batch_idx == 6:
            raise RuntimeError("out of memory (simulated)")
        return original(self, batch, batch_idx)

    monkeypatch.setattr(ConditionalGAN, "training_step", crash_at_batch_6)
    cfg = compose_train(tmp_path, [*(o for o in TINY if not o.startswith("callbacks.")), "callbacks=none"])
    with pytest.raises(RuntimeError, match="simulated"):
        train(cfg)
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert "_hparams_/session_start_info" in events.PluginTagToContent("hparams")
    assert "hp/train/d_loss" in events.Tags()["scalars"]  # the last step's value: no epoch had ended
