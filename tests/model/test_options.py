"""The model's option groups: each bad value one sentence naming its key, an old flat key told its new name (on
the command line and in the API), and a checkpoint of the flat keys read in today's groups."""

import pytest
from conftest import run_script

from cgan.api import train as api_train
from cgan.errors import UserError
from cgan.model.options import Options
from cgan.renamed import MOVED, old_key_problem, upgrade_checkpoint


@pytest.mark.parametrize("group, values, key", [
    ("objective", {"loss": "nope"}, "model.objective.loss='nope'"),
    ("objective", {"topk_gamma": 2.0}, "model.objective.topk_gamma"),
    ("penalty", {"r1_gamma": -1.0}, "model.penalty.r1_gamma"),
    ("penalty", {"interval": 0}, "model.penalty.interval"),
    ("penalty", {"lecam_decay": 1.0}, "model.penalty.lecam_decay"),
    ("optimizer", {"lr": 0}, "model.optimizer.lr=0"),
    ("optimizer", {"d_steps_per_g_step": 0}, "model.optimizer.d_steps_per_g_step"),
    ("optimizer", {"schedule": {"shape": "wavy"}}, "model.optimizer.schedule.shape='wavy'"),
    ("ema", {"decay": 1.5}, "model.ema.decay=1.5"),
    ("ema", {"decay": 0.9, "halflife_images": 1000}, "model.ema.halflife_images=1000"),
    ("augment", {"policy": ["zoom"]}, "model.augment.policy"),
    ("augment", {"ada_target": 0.6}, "model.augment.ada_target"),
    ("guard", {"on_nan": "pray"}, "model.guard.on_nan='pray'"),
    ("penalty", {"r1": 1.0}, "model.penalty has no key 'r1'"),
])
def test_a_bad_value_names_its_key(group, values, key):
    with pytest.raises(ValueError) as err:
        Options.from_groups(**{group: values})
    assert key in str(err.value) and "\n" not in str(err.value)


def test_the_yaml_defaults_are_the_dataclass_defaults():
    """conf/model_common/training.yaml and the dataclasses are the two places a default lives (a Hydra run reads
    the first, a net built in Python the second): they must say the same, or the API trains other math."""
    from pathlib import Path

    from omegaconf import OmegaConf

    from cgan.model.options import OPTION_GROUPS

    yaml = OmegaConf.to_container(OmegaConf.load(Path(__file__).parents[2] / "conf/model_common/training.yaml"))
    defaults = Options.from_groups().as_groups()
    for group in OPTION_GROUPS:
        assert yaml[group] == defaults[group], f"model.{group}: YAML {yaml[group]} against the dataclass {defaults[group]}"


def test_every_old_key_is_told_its_new_name():
    for old, new in MOVED.items():
        problem = old_key_problem([f"model.{old}=1"])
        assert f"model.{old} is now model.{new}" in problem and f"model.{new}=1" in problem
    assert "model.augment.policy=[color]" in old_key_problem(["model.augment=[color]"])
    assert "model.optimizer.schedule.shape=cosine" in old_key_problem(["+model.schedule.shape=cosine"])
    assert old_key_problem(["model.penalty.r1_gamma=1", "model.augment.policy=[color]", "data.loss=1"]) is None


def test_an_old_key_on_the_command_line_and_in_the_api_is_one_sentence(tmp_path):
    result = run_script("train.py", "model.r1_gamma=1", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: model.r1_gamma is now model.penalty.r1_gamma (the model's options are "
                                     "grouped by method, see docs/methods.md): write model.penalty.r1_gamma=1")
    with pytest.raises(UserError, match="model.ema_decay is now model.ema.decay"):
        api_train("model.ema_decay=0.999", run_dir=tmp_path)


def test_a_flat_checkpoint_is_read_in_groups_with_its_state_under_its_owner():
    ckpt = {"cgan_format": 1, "state_dict": {"ada_state": 1, "lecam_anchors": 2, "generator.w": 3},
            "hyper_parameters": {"generator": {}, "discriminator": {}, "latent_dim": 100, "num_classes": 10,
                                 "image_shape": [1, 28, 28], "class_names": list("0123456789"), "loss": "bce",
                                 "optimizer": {"lr": 1e-3}, "d_steps_per_g_step": 2, "r1_gamma": 1.0,
                                 "r1_interval": 4, "augment": ["color"], "ema_decay": 0.999,
                                 "schedule": {"shape": "cosine"}, "nan_check_interval": 5}}
    upgrade_checkpoint(ckpt)
    hp = ckpt["hyper_parameters"]
    assert ckpt["cgan_format"] == 2
    assert hp["data"] == {"num_classes": 10, "image_shape": [1, 28, 28], "class_names": list("0123456789"),
                          "interpolation": None}  # older than data.interpolation: what it meant then
    assert hp["optimizer"] == {"lr": 1e-3, "d_steps_per_g_step": 2, "schedule": {"shape": "cosine"}}
    assert hp["penalty"] == {"r1_gamma": 1.0, "interval": 4} and hp["augment"] == {"policy": ["color"]}
    assert hp["ema"] == {"decay": 0.999, "halflife_images": None} and hp["guard"] == {"check_interval": 5}
    assert hp["conditional"] is True and hp["objective"] == {"loss": "bce"}
    assert ckpt["state_dict"] == {"augment.ada_state": 1, "objective.lecam_anchors": 2, "generator.w": 3}
    Options.from_groups(**{k: hp.get(k) for k in ("objective", "penalty", "optimizer", "ema", "augment", "guard")})
