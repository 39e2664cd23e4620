"""What the judge sees of images: its features (the FID/KID space) and its predicted classes."""

from __future__ import annotations

import torch

from cgan.data.base import to_unit_range
from cgan.metrics.judge import DomainClassifier


@torch.no_grad()
def judge_images(judge: DomainClassifier, images: torch.Tensor, batch_size: int = 500):
    """(features, predicted labels) of images in [-1, 1] (float) or uint8."""
    feats, preds = [], []
    device = next(judge.parameters()).device
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].to(device)
        batch = to_unit_range(batch) if batch.dtype == torch.uint8 else batch.float()
        f = judge.features(batch)
        feats.append(f.cpu())
        preds.append(judge.head(f).argmax(1).cpu())
    return torch.cat(feats), torch.cat(preds)
