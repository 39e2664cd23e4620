"""The one scoring path: generated images (with the labels they were asked for) against real ones.

Both the training callback (:mod:`cgan.metrics.callback`) and ``cgan-evaluate``
(:mod:`cgan.metrics.evaluate`) call :func:`score`; neither computes a metric itself. Features come
from the dataset's own classifier (:mod:`cgan.metrics.judge`): its predictions give conditional
accuracy, its penultimate layer is the space of FID, KID and precision/recall. ``fid_floor`` is FID
between two sets of real images at the same sample size: the value a perfect generator would score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from cgan.data.base import InMemoryImages
from cgan.images import to_uint8
from cgan.metrics.features import judge_images
from cgan.metrics.fid import frechet_distance
from cgan.metrics.judge import DomainClassifier, accuracy, fit_classifier
from cgan.metrics.kid import kernel_distance
from cgan.metrics.prc import precision_recall
from cgan.metrics.spectrum import band_ratios, radial_power_spectrum, spectral_distance, top_band_ratio


def balanced_subset(labels: torch.Tensor, n_per_class: int, num_classes: int, seed: int = 0) -> torch.Tensor:
    """Indices of up to n_per_class items of each class (seeded)."""
    gen = torch.Generator().manual_seed(seed)
    picked = []
    for k in range(num_classes):
        members = torch.nonzero(labels == k).flatten()
        picked.append(members[torch.randperm(len(members), generator=gen)[:n_per_class]])
    return torch.cat(picked)


def split_halves(data: InMemoryImages, num_classes: int, seed: int = 0) -> tuple[InMemoryImages, InMemoryImages]:
    """Two disjoint halves of ``data``, each with half of every class (seeded)."""
    gen = torch.Generator().manual_seed(seed)
    first, second = [], []
    for k in range(num_classes):
        members = torch.nonzero(data.labels == k).flatten()
        members = members[torch.randperm(len(members), generator=gen)]
        first.append(members[: len(members) // 2])
        second.append(members[len(members) // 2 :])
    first, second = torch.cat(first), torch.cat(second)
    return (InMemoryImages(data.images[first], data.labels[first]),
            InMemoryImages(data.images[second], data.labels[second]))


def reference_sets(datamodule, num_classes: int) -> tuple[InMemoryImages, InMemoryImages]:
    """(the real images generated ones are compared with, other real images for the real-vs-real floor).

    The data module says which (``metrics_reference``): ``test`` (MNIST: the test split, floor from
    the training images) or ``train`` (rock-paper-scissors, whose test set shows other hands in other
    light: two halves of the training images, one the reference, the other the floor). Images are read
    as the metrics read them (``for_metrics``: one fixed resize filter), not as training resized them.
    """
    datamodule = datamodule.for_metrics()
    train, test = datamodule.train_set.to("cpu"), datamodule.test_set.to("cpu")
    if getattr(datamodule, "metrics_reference", "test") == "train":
        return split_halves(train, num_classes)
    return test, train


def strict_scores(strict_judge: DomainClassifier, fake_images: torch.Tensor, fake_labels: torch.Tensor,
                  real_images: torch.Tensor, other_images: torch.Tensor | None = None) -> dict:
    """``strict_*``: FID, precision, recall and conditional accuracy in the features of the judge trained
    without blur or noise (it does not forgive texture), with their real-vs-real floors when
    ``other_images`` is given."""
    real_feats, _ = judge_images(strict_judge, real_images)
    fake_feats, fake_preds = judge_images(strict_judge, fake_images)
    result = {"strict_conditional_accuracy": (fake_preds == fake_labels.cpu()).float().mean().item(),
              "strict_fid": frechet_distance(real_feats, fake_feats)}
    result["strict_precision"], result["strict_recall"] = precision_recall(real_feats, fake_feats)
    if other_images is not None:
        other_feats, _ = judge_images(strict_judge, other_images)
        result["strict_fid_floor"] = frechet_distance(real_feats, other_feats)
        result["strict_precision_floor"], result["strict_recall_floor"] = precision_recall(real_feats, other_feats)
    return result


def spectrum_scores(fake_images: torch.Tensor, real_images: torch.Tensor,
                    other_images: torch.Tensor | None = None) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """(``spectral_distance``, ``spectrum_top_ratio``, ``spectrum_bands`` and with ``other_images`` the
    real-vs-real ``spectral_distance_floor``; the generated and the real radial spectra)."""
    size = fake_images.shape[-1]
    fake, real = radial_power_spectrum(fake_images), radial_power_spectrum(real_images)
    result = {"spectral_distance": spectral_distance(fake, real), "spectrum_top_ratio": top_band_ratio(fake, real, size),
              "spectrum_bands": band_ratios(fake, real, size)}
    if other_images is not None:
        result["spectral_distance_floor"] = spectral_distance(radial_power_spectrum(other_images), real)
    return result, fake, real


def score(judge: DomainClassifier, class_names: Sequence[str], fake_images: torch.Tensor,
          fake_labels: torch.Tensor, real_ref: InMemoryImages, real_other: InMemoryImages | None = None,
          n_per_class: int | None = None, strict_judge: DomainClassifier | None = None,
          spectra: dict | None = None) -> dict:
    """Every metric of generated images (with the labels they were conditioned on) against the real
    images ``real_ref``; with ``real_other``, also the real-vs-real floor (``real_other`` against
    ``real_ref`` at the same sample size: what a perfect generator would score). With ``strict_judge``
    also its ``strict_*`` scores; the spectrum scores always (square images). ``spectra``, when given,
    receives the ``fake`` and ``real`` radial spectra (for a picture)."""
    num_classes = len(class_names)
    n = n_per_class or int(torch.bincount(fake_labels, minlength=num_classes).max())
    ref_idx = balanced_subset(real_ref.labels, n, num_classes)
    real_feats, _ = judge_images(judge, real_ref.images[ref_idx])
    real_labels = real_ref.labels[ref_idx]
    fake_feats, fake_preds = judge_images(judge, fake_images)
    correct = fake_preds == fake_labels.cpu()
    result = {
        "n_generated": len(fake_labels),
        "conditional_accuracy": correct.float().mean().item(),
        "fid": frechet_distance(real_feats, fake_feats),
        "per_class": {},
    }
    result["kid_x1000"], result["kid_x1000_std"] = kernel_distance(real_feats, fake_feats)
    result["precision"], result["recall"] = precision_recall(real_feats, fake_feats)
    for k, name in enumerate(class_names):
        mine, theirs = fake_labels.cpu() == k, real_labels == k
        entry = {"n": int(mine.sum()), "conditional_accuracy": correct[mine].float().mean().item()}
        if mine.sum() >= 2 and theirs.sum() >= 2:
            entry["fid"] = frechet_distance(real_feats[theirs], fake_feats[mine])  # intra-class FID
        result["per_class"][name] = entry
    per_class_fid = [e["fid"] for e in result["per_class"].values() if "fid" in e]
    result["intra_class_fid_mean"] = sum(per_class_fid) / len(per_class_fid) if per_class_fid else math.nan
    if real_other is not None:  # the floor: real vs real at the same sample size
        other_idx = balanced_subset(real_other.labels, n, num_classes, seed=1)
        other_feats, _ = judge_images(judge, real_other.images[other_idx])
        result["fid_floor"] = frechet_distance(real_feats, other_feats)
        result["kid_x1000_floor"], _ = kernel_distance(real_feats, other_feats)
        result["precision_floor"], result["recall_floor"] = precision_recall(real_feats, other_feats)
    other_images = real_other.images[other_idx] if real_other is not None else None
    if strict_judge is not None:
        result.update(strict_scores(strict_judge, fake_images, fake_labels, real_ref.images[ref_idx], other_images))
    if fake_images.shape[-1] == fake_images.shape[-2]:
        spectrum, fake_spectrum, real_spectrum = spectrum_scores(fake_images, real_ref.images[ref_idx], other_images)
        result.update(spectrum)
        if spectra is not None:
            spectra.update(fake=fake_spectrum, real=real_spectrum)
    return result


def classification_accuracy_score(fake_images: torch.Tensor, fake_labels: torch.Tensor,
                                  real_test: InMemoryImages, num_classes: int, epochs: int = 3) -> float:
    """CAS: a fresh classifier trained on generated images only, tested on real test images. High only
    when the images are both right and varied."""
    images = fake_images if fake_images.dtype == torch.uint8 else to_uint8(fake_images)
    model = fit_classifier(InMemoryImages(images, fake_labels.cpu()), num_classes, images.shape[1:], epochs=epochs)
    return accuracy(model, real_test)


@torch.no_grad()
def generate_per_class(generator: nn.Module, latent_dim: int, num_classes: int, n_per_class: int,
                       device: torch.device, seed: int = 0, batch_size: int = 500):
    """(uint8 images, labels): n_per_class for every class, quantised like the PNGs users look at."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(num_classes).repeat_interleave(n_per_class)
    z = torch.randn(len(labels), latent_dim, generator=gen)
    images = []
    for start in range(0, len(labels), batch_size):
        out = generator(z[start : start + batch_size].to(device), labels[start : start + batch_size].to(device))
        images.append(to_uint8(out))
    return torch.cat(images), labels
