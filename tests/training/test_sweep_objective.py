"""An Optuna search whose trials could never report their metric is refused at start, in one sentence, before
any trial trains (Optuna would otherwise fail the whole study at its end: "No trials are completed yet")."""

import pytest
from conftest import ROOT, compose_train, run_script

from cgan.training.sweep_objective import objective_problem

pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")


def search(tmp_path, *overrides):
    return compose_train(tmp_path / "run", ["hparams_search=mnist_optuna", f"paths.judge_dir={tmp_path}", *overrides])


def test_the_search_as_shipped_passes_once_its_classifier_is_there(tmp_path):
    assert "cgan-judge" in objective_problem(search(tmp_path))
    (tmp_path / "mnist.pt").write_bytes(b"made by cgan-judge")
    assert objective_problem(search(tmp_path)) is None


def test_a_trial_shorter_than_one_scoring_interval_is_refused(tmp_path):
    (tmp_path / "mnist.pt").write_bytes(b"made by cgan-judge")
    problem = objective_problem(search(tmp_path, "images_per_trial=32000"))
    assert problem.startswith("each trial ends after 500 batches (trainer.max_steps=1000), before its first scoring "
                              "at batch 1000"), problem
    assert "no trial would report metrics/fid" in problem


def test_metrics_turned_off_are_refused(tmp_path):
    assert "callbacks=default" in objective_problem(search(tmp_path, "callbacks=none"))


def test_the_command_stops_the_whole_search_before_its_first_trial_trains(tmp_path):
    done = run_script(str(ROOT / "train.py"), "-m", "hparams_search=mnist_optuna", f"paths.judge_dir={tmp_path}",
                      f"hydra.sweep.dir={tmp_path / 'sweep'}", "hydra.sweeper.n_trials=3", cwd=tmp_path)
    assert done.returncode == 2
    assert f"error: optimized_metric=metrics/fid needs the classifier {tmp_path}/mnist.pt, which is not there" \
        in done.stderr
    assert not list((tmp_path / "sweep").rglob("*.ckpt"))  # no trial trained
