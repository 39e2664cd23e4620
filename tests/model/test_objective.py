"""The objective (cgan/model/objective.py) and the objects that own the method state (ADA, the EMA policy, the
divergence guard), each alone on a tiny D: every term changes what it claims, against the same call without it,
and state moves only when its owner is told the step is done."""

import pytest
import torch

from cgan.errors import TrainingDiverged
from cgan.model.ada import AdaptiveAugment
from cgan.model.ema import GeneratorAverage
from cgan.model.guard import DivergenceGuard
from cgan.model.objective import GANLoss
from cgan.model.options import AugmentOptions, EMAOptions, GuardOptions, ObjectiveOptions, PenaltyOptions
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


def test_ada_raises_p_when_d_is_sure_of_the_reals_and_lowers_it_otherwise():
    augment = AdaptiveAugment(AugmentOptions(policy=("translation",), ada_target=0.6, ada_images=64, ada_interval=1))
    x = images(3)
    assert torch.equal(augment(x), x)  # p starts at 0: nothing applied
    for batches in range(1, 5):
        augment.observe(torch.ones(4), batches)  # every real rated real: above the target
    assert augment.ada_state[0].item() == pytest.approx(4 * 4 / 64)
    augment.observe(-torch.ones(4), 5)
    assert augment.ada_state[0].item() == pytest.approx(3 * 4 / 64)
    plain = AdaptiveAugment(AugmentOptions(policy=("translation",)))
    assert not plain.adaptive and "ada_state" not in plain.state_dict()


def test_the_ema_policy_moves_the_average_by_its_decay():
    live, average = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before, target = average.weight.detach().clone(), live.weight.detach().clone()
    GeneratorAverage(EMAOptions(decay=0.9, warmup=False), average).update(live, g_updates=0, batch_images=8)
    torch.testing.assert_close(average.weight.detach(), 0.9 * before + 0.1 * target)
    by_halflife = GeneratorAverage(EMAOptions(halflife_images=16, rampup=None), average)
    assert by_halflife.decay_now(g_updates=100, batch_images=16) == pytest.approx(0.5)


def test_the_guard_stops_skips_or_ignores_a_nan():
    nan, sum_one_rank = torch.tensor(float("nan")), (lambda value: value)
    with pytest.raises(TrainingDiverged, match="d_loss is nan.*model.guard.on_nan=skip_batch"):
        DivergenceGuard(GuardOptions()).skip("d_loss", nan, 0, "global step 0", sum_one_rank)
    skipping = DivergenceGuard(GuardOptions(on_nan="skip_batch"))
    assert skipping.skip("d_loss", nan, 0, "batch 0", sum_one_rank) and skipping.skipped_batches == 1
    assert not skipping.skip("d_loss", torch.tensor(1.0), 1, "batch 1", sum_one_rank)
    every_third = DivergenceGuard(GuardOptions(on_nan="skip_batch", check_interval=3))
    assert not every_third.skip("d_loss", nan, 0, "batch 0", sum_one_rank)  # not a checked batch
    assert every_third.skip("d_loss", nan, 2, "batch 2", sum_one_rank)
    assert not DivergenceGuard(GuardOptions(on_nan="ignore")).skip("d_loss", nan, 0, "batch 0", sum_one_rank)
