"""The EMA policy (cgan/model/ema.py) and the divergence guard (cgan/model/guard.py), alone."""

import pytest
import torch

from cgan.errors import TrainingDiverged
from cgan.model.ema import GeneratorAverage
from cgan.model.guard import DivergenceGuard
from cgan.model.options import EMAOptions, GuardOptions


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
