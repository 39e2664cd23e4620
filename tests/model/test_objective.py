"""The objective (cgan/model/objective.py) alone on a tiny D: every term changes what it claims, against the same
call without it, and LeCam's anchors move only when the objective is told D's step is done."""

import pytest
import torch

from cgan.model.objective import GANLoss
from cgan.model.options import ObjectiveOptions, PenaltyOptions
from cgan.nets import MLPDiscriminator

LABELS = torch.tensor([0, 1, 2, 0])


def tiny_d(conditioning: str = "concat") -> MLPDiscriminator:
    torch.manual_seed(0)
    return MLPDiscriminator(num_classes=3, image_shape=[1, 8, 8], hidden_dims=[16], conditioning=conditioning)


def images(seed: int) -> torch.Tensor:
    return torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def d_gradient(objective: GANLoss, d: MLPDiscriminator, batch_idx: int = 0) -> torch.Tensor:
    d.zero_grad()
    objective.d_loss(d, lambda x: x, images(1), images(2), LABELS, batch_idx).loss.backward()
    return torch.cat([p.grad.flatten() for p in d.parameters()])


def no_augment(x):
    return x


@pytest.mark.parametrize("penalty", [{"r1_gamma": 1.0}, {"r2_gamma": 1.0}, {"lecam_weight": 1.0}])
def test_each_penalty_changes_ds_gradient(penalty):
    d = tiny_d()
    off = d_gradient(GANLoss(ObjectiveOptions(), PenaltyOptions()), d)
    objective = GANLoss(ObjectiveOptions(), PenaltyOptions(**penalty))
    if "lecam_weight" in penalty:  # anchors at 0 pull nothing until D's logits have drifted past them
        objective.lecam_anchors.fill_(5.0)
    assert not torch.allclose(off, d_gradient(objective, d)), penalty


def test_lazy_penalties_apply_every_interval_th_batch_at_interval_times_the_strength():
    d = tiny_d()
    off = d_gradient(GANLoss(ObjectiveOptions(), PenaltyOptions()), d)
    lazy = GANLoss(ObjectiveOptions(), PenaltyOptions(r1_gamma=1.0, interval=4))
    assert torch.equal(d_gradient(lazy, d, batch_idx=1), off)  # not its batch
    every = d_gradient(GANLoss(ObjectiveOptions(), PenaltyOptions(r1_gamma=4.0)), d)
    torch.testing.assert_close(d_gradient(lazy, d, batch_idx=4), every)  # gamma x interval on its batch


@pytest.mark.parametrize("term", [{"label_smoothing": 0.2}, {"loss": "hinge"}, {"loss": "rpgan"}])
def test_ds_loss_terms_change_its_value(term):
    d = tiny_d()
    base = GANLoss(ObjectiveOptions(), PenaltyOptions()).d_loss(d, no_augment, images(1), images(2), LABELS, 0)
    other = GANLoss(ObjectiveOptions(**term), PenaltyOptions()).d_loss(d, no_augment, images(1), images(2), LABELS, 0)
    assert not torch.allclose(base.loss, other.loss), term


def test_acgan_adds_the_class_loss_to_both_nets_and_fake_class_loss_to_ds():
    d = tiny_d("acgan")
    args = (d, no_augment, images(1), images(2), LABELS, 0)
    plain = GANLoss(ObjectiveOptions(acgan_weight=0.0), PenaltyOptions(), acgan=True)
    both = GANLoss(ObjectiveOptions(), PenaltyOptions(), acgan=True)
    real_only = GANLoss(ObjectiveOptions(acgan_fake_class_loss=False), PenaltyOptions(), acgan=True)
    losses = [o.d_loss(*args).loss.item() for o in (plain, real_only, both)]
    assert losses[0] < losses[1] < losses[2]  # each cross-entropy is positive
    g_args = (d, no_augment, images(2), LABELS, images(1), 0)
    assert plain.g_loss(*g_args) < both.g_loss(*g_args)


def test_lecam_anchors_move_after_ds_step_not_inside_its_loss():
    d = tiny_d()
    objective = GANLoss(ObjectiveOptions(), PenaltyOptions(lecam_weight=0.1, lecam_decay=0.5))
    step = objective.d_loss(d, no_augment, images(1), images(2), LABELS, 0)
    assert torch.equal(objective.lecam_anchors, torch.zeros(2))
    objective.after_d_step(step, lambda means: means)
    expected = 0.5 * torch.stack([step.real_logits.mean(), step.fake_logits.mean()])
    torch.testing.assert_close(objective.lecam_anchors, expected.detach())


def test_topk_learns_from_the_fakes_d_rates_most_real():
    objective = GANLoss(ObjectiveOptions(topk_gamma=0.5, topk_min_fraction=0.25), PenaltyOptions())
    assert [objective.topk_now(16, epoch) for epoch in (0, 1, 5)] == [16, 8, 4]
    d = tiny_d()
    d.forward = lambda x, labels, return_class_logits=False: (torch.arange(16.0), None)
    loss = objective.g_loss(d, no_augment, torch.zeros(16, 1, 8, 8), torch.zeros(16, dtype=torch.long), None, epoch=5)
    assert loss.item() == pytest.approx(torch.nn.functional.softplus(-torch.arange(12.0, 16.0)).mean().item())
