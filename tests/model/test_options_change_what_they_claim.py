"""An option that did nothing would pass a test that only checks weights moved: here each one must change
what it claims to change, against the same run or net without it."""

import lightning as L
import pytest
import torch
from conftest import TINY, compose_train

from cgan.nets import DCGANDiscriminator, MLPDiscriminator
from cgan.training import train

QUICK = [o for o in TINY if not o.startswith("callbacks.")] + [
    "trainer.limit_val_batches=0", "callbacks=none", "logger=none", "trainer.precision=32-true"]
SMALL_DCGAN = ["model=dcgan", "model.generator.base_width=8", "model.discriminator.base_width=8"]


@pytest.mark.parametrize("net,conditioning", [("mlp", c) for c in ("concat", "multiply", "projection", "acgan")]
                         + [("dcgan", c) for c in ("concat", "projection", "acgan")])
def test_every_conditioning_makes_d_hear_the_label(net, conditioning):
    """The same images with another label: D's real/fake logit changes (its class head, for acgan)."""
    torch.manual_seed(0)
    if net == "mlp":
        d = MLPDiscriminator(num_classes=3, image_shape=[1, 28, 28], conditioning=conditioning)
        images = torch.randn(4, 1, 28, 28)
    else:
        d = DCGANDiscriminator(num_classes=3, image_shape=[3, 32, 32], base_width=8, conditioning=conditioning)
        images = torch.randn(4, 3, 32, 32)
    d.eval()
    with torch.no_grad():
        logits_a, classes_a = d(images, torch.zeros(4, dtype=torch.long), return_class_logits=True)
        logits_b, classes_b = d(images, torch.full((4,), 2, dtype=torch.long), return_class_logits=True)
    if conditioning == "acgan":  # D predicts the class from the image alone; the label enters through its loss
        assert classes_a is not None and classes_a.shape == (4, 3)
        assert torch.equal(logits_a, logits_b)
    else:
        assert not torch.allclose(logits_a, logits_b), f"{net} D with {conditioning} ignores the label"


def d_weights_after(tmp_path, overrides: list[str]) -> dict:
    cfg = compose_train(tmp_path, [*QUICK, *SMALL_DCGAN, "trainer.max_steps=2", *overrides])
    L.seed_everything(cfg.seed)
    run = train(cfg)
    return {k: v.clone() for k, v in run.model.state_dict().items() if k.startswith("discriminator.")}


@pytest.mark.parametrize("penalty", ["model.penalty.r1_gamma=10", "model.penalty.r2_gamma=10", "model.penalty.lecam_weight=1"])
def test_a_penalty_changes_ds_first_step_against_none(tmp_path, penalty):
    """One batch (a D step and a G step) from the same seed: with the penalty on, D's weights end elsewhere."""
    off = d_weights_after(tmp_path / "off", ["model.objective.loss=rpgan" if "r2" in penalty else "model.objective.loss=bce"])
    on = d_weights_after(tmp_path / "on", ["model.objective.loss=rpgan" if "r2" in penalty else "model.objective.loss=bce", penalty])
    assert off.keys() == on.keys()
    assert any(not torch.allclose(off[k], on[k]) for k in off), f"{penalty} left D's step unchanged"
