"""ADA (cgan/model/ada.py): p follows how sure D is of the real images, by the global batch under DDP, and
reaches the images with that probability."""

import pytest
import torch

from cgan.model.ada import AdaptiveAugment
from cgan.model.options import AugmentOptions


def test_ada_lowers_p_when_d_is_unsure_and_keeps_it_in_0_1():
    from cgan.model import ada

    state = torch.tensor([0.5, 0.0])
    settings = dict(target=0.6, interval=2, images=100)
    batches = iter(range(1, 1000))
    for _ in range(2):  # D calls every real image fake: sign -1 < 0.6, so p falls by 2 x 10 / 100
        ada.update(state, -torch.ones(10), next(batches), **settings)
    assert state[0].item() == pytest.approx(0.3)
    for _ in range(40):
        ada.update(state, -torch.ones(10), next(batches), **settings)
    assert state[0].item() == 0.0
    for _ in range(40):
        ada.update(state, torch.ones(10), next(batches), **settings)
    assert state[0].item() == 1.0


def test_ada_on_two_ranks_moves_p_by_the_sum_of_both_ranks_signs():
    """Rank 0's D is sure of its reals, rank 1's unsure of all: the all-reduced mean sign (-0.6) is under the
    target, so p falls on both ranks alike, by the global batch (2 ranks x 10 images) per batch."""
    from cgan.model import ada

    states = [torch.tensor([0.5, 0.0]), torch.tensor([0.5, 0.0])]
    logits = [torch.tensor([1.0] * 4 + [-1.0] * 6), -torch.ones(10)]
    for batch in (1, 2):
        sums = [states[rank][1] + torch.sign(logits[rank]).mean() for rank in (0, 1)]  # each rank's, at the reduce
        for rank in (0, 1):
            ada.update(states[rank], logits[rank], batch, target=0.6, interval=2, images=100,
                       sum_over_ranks=lambda mine, other=sums[1 - rank]: mine + other, world_size=2)
        if batch == 1:
            assert states[0][1] != states[1][1]  # each rank sums its own signs between reduces
    assert states[0][0].item() == states[1][0].item() == pytest.approx(0.5 - 2 * 2 * 10 / 100)


def test_ada_p_zero_leaves_images_alone_and_one_augments_them():
    from cgan.model.augment import DiffAugment

    x = torch.rand(8, 3, 16, 16) * 2 - 1
    augment = DiffAugment(["color", "cutout"])
    assert torch.equal(augment(x, probability=torch.tensor(0.0)), x)
    assert (augment(x, probability=torch.tensor(1.0)) - x).abs().amax(dim=(1, 2, 3)).min() > 0


def test_ada_raises_p_when_d_is_sure_of_the_reals_and_lowers_it_otherwise():
    augment = AdaptiveAugment(AugmentOptions(policy=("translation",), ada_target=0.6, ada_images=64, ada_interval=1))
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(augment(x), x)  # p starts at 0: nothing applied
    for batches in range(1, 5):
        augment.observe(torch.ones(4), batches)  # every real rated real: above the target
    assert augment.ada_state[0].item() == pytest.approx(4 * 4 / 64)
    augment.observe(-torch.ones(4), 5)
    assert augment.ada_state[0].item() == pytest.approx(3 * 4 / 64)
    plain = AdaptiveAugment(AugmentOptions(policy=("translation",)))
    assert not plain.adaptive and "ada_state" not in plain.state_dict()
