"""Frechet distance between two feature sets (FID when the features are a classifier's)."""

from __future__ import annotations

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance


class GivenFeatures(nn.Module):
    """The identity as torchmetrics' feature extractor: we pass features we computed ourselves."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    fid = FrechetInceptionDistance(feature=GivenFeatures(real.shape[1]), normalize=True)
    fid.update(real.double(), real=True)
    fid.update(fake.double(), real=False)
    return float(fid.compute())
