"""Discriminator rejection at sample time: the kept images are the candidates D rates highest, per class."""

import pytest
import torch

from cgan.errors import UserError
from cgan.generation import generate, generate_with_rejection, load_discriminator, load_generator, sample


def test_rejection_keeps_the_best_rated_candidates_of_each_class(gesture_checkpoint):
    trained = load_generator(gesture_checkpoint)
    d = load_discriminator(gesture_checkpoint)
    assert not d.training and type(d).__name__ == "DCGANDiscriminator"
    labels, n, factor = [2, 0], 3, 2.5
    kept = generate_with_rejection(trained, d, labels, n, factor, seed=5)
    assert kept.shape == (len(labels) * n, *trained.image_shape)
    candidates = generate(trained, labels, 8, seed=5)  # ceil(2.5 x 3) = 8 drawn per class, the same noise
    with torch.no_grad():
        scores = d(candidates, torch.tensor(labels).repeat_interleave(8))
    for row, label in enumerate(labels):
        rated = scores[row * 8:(row + 1) * 8]
        best = rated.topk(n).indices.sort().values
        assert torch.allclose(kept[row * n:(row + 1) * n], candidates[row * 8 + best])
        assert rated[best].mean() > rated.mean()  # D's scores differ: the kept ones are rated above the rest


def test_sample_writes_rejected_samples_and_refuses_bad_factors(gesture_checkpoint, tmp_path):
    out = sample(str(gesture_checkpoint), labels=["paper"], n_per_label=2, out_dir=str(tmp_path / "s"), rejection=3)
    assert sorted(p.name for p in (out / "paper").iterdir()) == ["0000.png", "0001.png"]
    with pytest.raises(UserError, match="rejection=0.5 must be a number >= 1"):
        sample(str(gesture_checkpoint), n_per_label=2, out_dir=str(tmp_path / "t"), rejection=0.5)
    with pytest.raises(UserError, match="use it with mode=grid"):
        sample(str(gesture_checkpoint), out_dir=str(tmp_path / "u"), rejection=2, mode="interpolate")
