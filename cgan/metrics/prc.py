"""Improved precision and recall (Kynkaanniemi et al. 2019) between two feature sets."""

from __future__ import annotations

import math

import torch


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) in a feature space: precision is the
    share of fakes inside the real manifold (a ball around each real feature reaching its k-th
    nearest real neighbour), recall the share of reals inside the fake manifold. Low precision:
    images unlike any real one; low recall: the variety of the data is not covered."""
    real, fake = real.double(), fake.double()

    def radii(feats: torch.Tensor) -> torch.Tensor:
        dist = torch.cdist(feats, feats)
        return dist.kthvalue(k + 1, dim=1).values  # +1: each point is its own nearest neighbour

    def covered(points: torch.Tensor, manifold: torch.Tensor, manifold_radii: torch.Tensor) -> float:
        inside = torch.zeros(len(points), dtype=torch.bool)
        for start in range(0, len(points), 1000):
            dist = torch.cdist(points[start : start + 1000], manifold)
            inside[start : start + 1000] = (dist <= manifold_radii[None]).any(dim=1)
        return inside.float().mean().item()

    k = min(k, len(real) - 1, len(fake) - 1)
    if k < 1:
        return math.nan, math.nan
    return covered(fake, real, radii(real)), covered(real, fake, radii(fake))
