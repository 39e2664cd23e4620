"""Every config choice composes, and the CLI prints the composed config."""

from pathlib import Path

import pytest
from conftest import CONF_DIR, compose_train, run_script
from hydra.core.hydra_config import HydraConfig

GROUPS = ["model", "data", "trainer", "callbacks", "logger", "paths", "hydra", "experiment"]


def choices(group: str) -> list[str]:
    return sorted(p.stem for p in (Path(CONF_DIR) / group).glob("*.yaml"))


@pytest.mark.parametrize("group,choice", [(g, c) for g in GROUPS for c in choices(g)])
def test_every_group_choice_composes(tmp_path, group, choice):
    cfg = compose_train(tmp_path, [f"{group}={choice}"])
    assert HydraConfig.get().runtime.choices[group] == choice
    assert cfg.paths.output_dir == str(tmp_path)


def test_default_experiment_is_mlp_cgan_on_mnist_on_cpu(tmp_path):
    cfg = compose_train(tmp_path)
    assert cfg.model._target_ == "cgan.model.ConditionalGAN"
    assert cfg.model.generator._target_ == "cgan.nets.MLPGenerator"
    assert cfg.data._target_ == "cgan.data.MNISTDataModule"
    assert cfg.trainer.accelerator == "cpu"
    # Article 000's numbers are the defaults.
    assert cfg.model.latent_dim == 100 and cfg.data.batch_size == 64
    assert cfg.model.optimizer.lr == 2e-4 and list(cfg.model.optimizer.betas) == [0.5, 0.999]


def test_standard_overrides_apply(tmp_path):
    cfg = compose_train(tmp_path, ["trainer.max_steps=10", "trainer.accelerator=cpu", "paths.data_dir=/somewhere"])
    assert cfg.trainer.max_steps == 10
    assert cfg.data.data_dir == "/somewhere"


@pytest.mark.slow
def test_train_cfg_job_prints_the_composed_config():
    result = run_script("train.py", "--cfg", "job", "model.latent_dim=7")
    assert result.returncode == 0, result.stderr
    assert "latent_dim: 7" in result.stdout
    assert "_target_: cgan.data.MNISTDataModule" in result.stdout


@pytest.mark.slow
def test_unknown_model_choice_lists_valid_ones():
    result = run_script("train.py", "model=nonexistent", "--cfg", "job")
    assert result.returncode != 0
    assert "cgan" in result.stderr and "nonexistent" in result.stderr
