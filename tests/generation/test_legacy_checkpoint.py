"""A checkpoint written before the package was split into layers still samples the same pixels and resumes."""

import shutil

import numpy as np
from conftest import ROOT, TINY, compose_train
from PIL import Image

from cgan.checkpoints import read_checkpoint
from cgan.generation import sample
from cgan.training import train

LEGACY = ROOT / "tests" / "fixtures" / "older_checkpoint"
# The model settings it was trained with (see its README.md): a resume must build the same nets.
LEGACY_MODEL = ["model.generator.hidden_dims=[8,8]", "model.discriminator.hidden_dims=[8,8]", "model.ema_decay=0.9"]


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
