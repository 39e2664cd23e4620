"""Kernel distance between two feature sets (KID when the features are a classifier's), on a fixed scale.

torchmetrics' KID uses the cubic kernel (x.y / d + 1)^3, which was made for Inception features of a
certain size: on features of another scale its values grow with that scale cubed (our judge's raw
features gave KIDs three times the FID). So the features are first divided by the reference set's
root-mean-square value per coordinate, and the result is reported times 1000 (as StyleGAN and most
papers print KID): ``kid_x1000``.
"""

from __future__ import annotations

import warnings

import torch
from torchmetrics.image.kid import KernelInceptionDistance

from cgan.metrics.fid import GivenFeatures

# KID keeps the features it is given; ours are a few thousand 128-wide rows, not a dataset's worth.
warnings.filterwarnings("ignore", message="Metric `Kernel Inception Distance` will save all extracted features")

KID_SCALE = 1000.0


def kernel_distance(real: torch.Tensor, fake: torch.Tensor, seed: int = 0) -> tuple[float, float]:
    """(KID x 1000, its standard deviation over subsets) of ``fake`` against ``real`` features.

    The subsets are drawn from their own seeded generator: the same features give the same KID, and
    scoring during training leaves the training's random stream untouched."""
    real, fake = real.double(), fake.double()
    rms = real.pow(2).mean().sqrt().clamp_min(1e-12)  # one number for the whole reference set
    real, fake = real / rms, fake / rms
    subset = min(len(real) // 2, len(fake) // 2, 1000)  # subsets smaller than the set, so std means something
    kid = KernelInceptionDistance(feature=GivenFeatures(real.shape[1]), subset_size=subset, subsets=50,
                                  normalize=True)
    kid.update(real, real=True)
    kid.update(fake, real=False)
    with torch.random.fork_rng(devices=[]):  # torchmetrics draws the subsets from the global generator
        torch.manual_seed(seed)
        mean, std = kid.compute()
    return KID_SCALE * float(mean), KID_SCALE * float(std)
