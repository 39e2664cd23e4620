"""A checkpoint written before the package was split into layers still samples the same pixels and resumes."""

import shutil

import numpy as np
import torch
from conftest import ROOT, TINY, compose_train
from PIL import Image

from cgan.checkpoints import read_checkpoint
from cgan.generation import sample
from cgan.training import train

LEGACY = ROOT / "tests" / "fixtures" / "older_checkpoint"
# The model settings it was trained with (see its README.md): a resume must build the same nets.
LEGACY_MODEL = ["model.generator.hidden_dims=[8,8]", "model.discriminator.hidden_dims=[8,8]", "model.ema.decay=0.9"]


def test_an_old_checkpoint_samples_the_grid_the_old_code_drew(tmp_path):
    out = sample(str(LEGACY / "last.ckpt"), n_per_label=2, out_dir=str(tmp_path / "samples"), seed=7)
    new = np.asarray(Image.open(out / "grid.png"))
    old = np.asarray(Image.open(LEGACY / "grid.png"))
    assert new.shape == old.shape
    assert np.abs(new.astype(int) - old.astype(int)).max() <= 1  # the same EMA generator, the same noise
    assert sorted(p.name for p in out.iterdir()) == sorted([*map(str, range(10)), "grid.png"])


def test_an_old_checkpoint_resumes_and_trains_on(tmp_path):
    ckpt = tmp_path / "old" / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True)
    shutil.copy(LEGACY / "last.ckpt", ckpt)
    assert read_checkpoint(ckpt)["global_step"] == 20
    run_dir = tmp_path / "resumed"
    overrides = [o for o in TINY if not o.startswith("trainer.max_steps")]
    cfg = compose_train(run_dir, [*overrides, *LEGACY_MODEL, "trainer.max_steps=30", f"ckpt_path={ckpt}"])
    run = train(cfg)
    assert run.trainer.global_step == 30
    assert read_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 30


# A checkpoint written while the model's options were flat keys (see its README.md), with ADA's and LeCam's state.
FLAT = ROOT / "tests" / "fixtures" / "flat_options_checkpoint"
FLAT_MODEL = ["model.generator.hidden_dims=[8,8]", "model.discriminator.hidden_dims=[8,8]", "model.ema.decay=null",
              "model.ema.halflife_images=500", "model.penalty.lecam_weight=0.01", "model.augment.ada_target=0.6",
              "model.augment.ada_interval=3", "model.augment.ada_images=200", "model.augment.policy=[translation]",
              "model.penalty.r1_gamma=0.1", "model.penalty.interval=2", "model.guard.on_nan=skip_batch"]


def test_a_checkpoint_of_the_flat_options_samples_the_grid_it_drew_and_reads_in_groups(tmp_path):
    out = sample(str(FLAT / "last.ckpt"), n_per_label=2, out_dir=str(tmp_path / "samples"), seed=7)
    new, old = np.asarray(Image.open(out / "grid.png")), np.asarray(Image.open(FLAT / "grid.png"))
    assert new.shape == old.shape and np.abs(new.astype(int) - old.astype(int)).max() <= 1
    ckpt = read_checkpoint(FLAT / "last.ckpt")
    hp = ckpt["hyper_parameters"]
    assert hp["ema"]["halflife_images"] == 500 and hp["penalty"]["interval"] == 2
    assert hp["augment"]["policy"] == ["translation"] and hp["guard"]["on_nan"] == "skip_batch"
    assert ckpt["state_dict"]["augment.ada_state"].tolist() == [0.0, -1.0]


def test_a_checkpoint_of_the_flat_options_resumes_with_its_method_state(tmp_path, monkeypatch):
    from cgan.model import gan

    ckpt = tmp_path / "old" / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True)
    shutil.copy(FLAT / "last.ckpt", ckpt)
    saved = read_checkpoint(ckpt)["state_dict"]
    at_first_batch = []
    original = gan.ConditionalGAN.training_step

    def spy(self, batch, batch_idx):  # the state the resumed run starts its first batch from
        if not at_first_batch:
            at_first_batch.append({k: v.clone() for k, v in self.state_dict().items()})
        return original(self, batch, batch_idx)

    monkeypatch.setattr(gan.ConditionalGAN, "training_step", spy)
    overrides = [o for o in TINY if not o.startswith("trainer.max_steps")]
    run = train(compose_train(tmp_path / "resumed", [*overrides, *FLAT_MODEL, "trainer.max_steps=24",
                                                     f"ckpt_path={ckpt}"]))
    assert run.trainer.global_step == 24
    for name in ("augment.ada_state", "objective.lecam_anchors", "generator_ema.net.0.weight"):
        state = at_first_batch[0]
        key = name if name in state else next(k for k in state if k.startswith("generator_ema."))
        assert torch.equal(state[key], saved[key]), key
