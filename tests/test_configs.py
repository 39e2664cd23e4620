"""Every config choice composes, and the CLI prints the composed config."""

from pathlib import Path

import pytest
from conftest import CONF_DIR, compose_train, make_folder, run_script
from hydra.core.hydra_config import HydraConfig

from cgan.config import folder_key

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


def test_trainer_gpu_and_accelerator_gpu_give_the_same_trainer(tmp_path):
    """The README's GPU command (trainer.accelerator=gpu) trains exactly as trainer=gpu, cuDNN autotuning included."""
    from omegaconf import OmegaConf

    blocks = [OmegaConf.to_container(compose_train(tmp_path, ["model=dcgan", "data=rps", choice]).trainer, resolve=True)
              for choice in ("trainer.accelerator=gpu", "trainer=gpu")]
    assert blocks[0] == blocks[1] and blocks[0]["benchmark"] is True
    cpu = OmegaConf.to_container(compose_train(tmp_path, ["model=dcgan", "data=rps"]).trainer, resolve=True)
    assert cpu["accelerator"] == "cpu" and cpu["benchmark"] is None


def test_the_gpu_command_is_article_002_and_the_cpu_one_the_small_run(tmp_path):
    """README's `python train.py model=dcgan data=rps trainer.accelerator=gpu`: 128x128, batch 128, 100 epochs,
    Adam 2e-4 (0.5, 0.999) as article 002; the same on a CPU: 64x64, batch 64, 20 epochs."""
    gpu = compose_train(tmp_path, ["model=dcgan", "data=rps", "trainer.accelerator=gpu"])
    assert (gpu.data.image_size, gpu.data.batch_size, gpu.trainer.max_epochs) == (128, 128, 100)
    assert gpu.model.optimizer.lr == 2e-4 and list(gpu.model.optimizer.betas) == [0.5, 0.999]
    cpu = compose_train(tmp_path, ["model=dcgan", "data=rps", "trainer.accelerator=cpu"])
    assert (cpu.data.image_size, cpu.data.batch_size, cpu.trainer.max_epochs) == (64, 64, 20)
    mnist_gpu = compose_train(tmp_path, ["trainer.accelerator=gpu"])  # the digits keep their 20 epochs anywhere
    assert (mnist_gpu.data.batch_size, mnist_gpu.trainer.max_epochs) == (64, 20)
    chosen = compose_train(tmp_path, ["model=dcgan", "data=rps", "trainer=gpu", "data.image_size=64",
                                      "trainer.max_epochs=5"])  # a value given wins
    assert (chosen.data.image_size, chosen.data.batch_size, chosen.trainer.max_epochs) == (64, 128, 5)


@pytest.mark.slow
def test_train_cfg_job_prints_the_composed_config_with_its_values():
    result = run_script("train.py", "model=dcgan", "data=rps", "trainer.accelerator=gpu", "model.latent_dim=7",
                        "--cfg", "job")
    assert result.returncode == 0, result.stderr
    assert "latent_dim: 7" in result.stdout
    assert "_target_: cgan.data.RockPaperScissorsDataModule" in result.stdout
    assert "  image_size: 128\n" in result.stdout and "  batch_size: 128\n" in result.stdout
    assert "  max_epochs: 100\n" in result.stdout and "${" not in result.stdout


@pytest.mark.slow
def test_unknown_model_choice_lists_valid_ones():
    result = run_script("train.py", "model=nonexistent", "--cfg", "job")
    assert result.returncode != 0
    assert "cgan" in result.stderr and "nonexistent" in result.stderr


def test_each_image_folder_has_its_own_classifier_file(tmp_path):
    first = make_folder(tmp_path / "a")
    second = make_folder(tmp_path / "b", per_class=7)
    keys = {folder_key(str(first)), folder_key(str(second))}
    assert len(keys) == 2 and all(k.startswith("_") and len(k) == 9 for k in keys)
    assert folder_key(None) == "" and folder_key(str(tmp_path / "missing")) == ""
    paths = {compose_train(tmp_path, ["data=image_folder", f"data.root={root}"]).callbacks.generation_metrics
             .classifier_path for root in (first, second)}
    assert len(paths) == 2 and all(p.startswith("outputs/judges/image_folder64_") for p in paths)


def test_optuna_trials_see_the_same_images_whatever_their_batch_size(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="the sweep extra is not installed")
    for batch, steps in ((32, 12000), (64, 6000), (256, 1500)):
        cfg = compose_train(tmp_path, ["hparams_search=mnist_optuna", f"data.batch_size={batch}"])
        assert cfg.trainer.max_steps == steps and steps // 2 * batch == 192000
        assert cfg.trainer.val_check_interval * batch == 64000


def test_sweep_job_folders_are_named_by_their_overrides_and_fit_a_file_name():
    from cgan.config import job_dir_name

    assert job_dir_name(3, "model.optimizer.lr=0.0001,seed=2") == "3_model.optimizer.lr=0.0001,seed=2"
    assert job_dir_name(0, "") == "0"
    assert "/" not in job_dir_name(1, "callbacks.model_checkpoint.dirpath=a/b")
    long = ",".join(f"key{i}=value{i}" for i in range(40))
    first, other = job_dir_name(5, long), job_dir_name(5, long + "x")
    assert len(first) == 120 and first.startswith("5_key0=value0,") and first != other



def test_the_five_minute_digits_preset_is_mnist_best_that_stops_by_itself_on_a_cpu(tmp_path):
    best = compose_train(tmp_path, ["experiment=mnist_best"])
    fast = compose_train(tmp_path, ["experiment=mnist_5min"])
    assert fast.trainer.max_time == "00:00:04:40" and best.trainer.max_time is None
    assert compose_train(tmp_path, ["experiment=mnist_5min", "trainer=gpu"]).trainer.max_time is None
    assert fast.model.optimizer.lr > best.model.optimizer.lr
    # Otherwise the same nets and methods.
    for key in ("generator", "discriminator", "penalty", "ema", "objective"):
        assert fast.model[key] == best.model[key], key
    assert fast.data == best.data


def test_the_gestures_on_a_cpu_say_they_are_the_small_run(tmp_path, caplog):
    from cgan.training.run import say_when_the_gestures_train_small

    with caplog.at_level("INFO", logger="cgan.training.run"):
        say_when_the_gestures_train_small(compose_train(tmp_path, ["model=dcgan", "data=rps"]))
        said = caplog.text
        caplog.clear()
        say_when_the_gestures_train_small(compose_train(tmp_path, ["model=dcgan", "data=rps", "trainer=gpu"]))
        say_when_the_gestures_train_small(compose_train(tmp_path, ["experiment=rps_best"]))  # a preset says its own
    assert "64x64 photos, batch 64, 20 epochs" in said and "trainer.accelerator=gpu" in said
    assert caplog.text == ""
