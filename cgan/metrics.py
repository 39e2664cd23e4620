"""What the generator learned, in numbers: conditional accuracy, FID, KID, per-class FID, CAS.

All measured with the dataset's own classifier (:mod:`cgan.judge`): its
predictions give conditional accuracy (does G draw the class it was asked for),
its penultimate features are the space of FID and KID (do G's images look like
the data, in variety too). The features are computed once per image; torchmetrics'
FrechetInceptionDistance / KernelInceptionDistance then work on them through an
identity "feature extractor", so one pass serves the overall and every per-class
score. ``fid_floor`` is FID between real training and real test images at the
same sample size: the value a perfect generator would score.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from cgan.data.base import InMemoryImages, to_unit_range
from cgan.errors import UserError
from cgan.judge import DomainClassifier, accuracy, fit_classifier, load_judge

log = logging.getLogger(__name__)

# KID keeps the features it is given; ours are a few thousand 128-wide rows, not a dataset's worth.
warnings.filterwarnings("ignore", message="Metric `Kernel Inception Distance` will save all extracted features")


class GivenFeatures(nn.Module):
    """The identity as torchmetrics' feature extractor: we pass features we computed ourselves."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


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


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    fid = FrechetInceptionDistance(feature=GivenFeatures(real.shape[1]), normalize=True)
    fid.update(real.double(), real=True)
    fid.update(fake.double(), real=False)
    return float(fid.compute())


def kernel_distance(real: torch.Tensor, fake: torch.Tensor) -> tuple[float, float]:
    subset = min(len(real) // 2, len(fake) // 2, 1000)  # subsets smaller than the set, so std means something
    kid = KernelInceptionDistance(feature=GivenFeatures(real.shape[1]), subset_size=subset, subsets=50,
                                  normalize=True)
    kid.update(real.double(), real=True)
    kid.update(fake.double(), real=False)
    mean, std = kid.compute()
    return float(mean), float(std)


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
    light: two halves of the training images, one the reference, the other the floor).
    """
    train, test = datamodule.train_set.to("cpu"), datamodule.test_set.to("cpu")
    if getattr(datamodule, "metrics_reference", "test") == "train":
        return split_halves(train, num_classes)
    return test, train


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


def score(judge: DomainClassifier, class_names: Sequence[str], fake_images: torch.Tensor,
          fake_labels: torch.Tensor, real_ref: InMemoryImages, real_other: InMemoryImages | None = None,
          n_per_class: int | None = None) -> dict:
    """Every metric of generated images (with the labels they were conditioned on) against the real
    images ``real_ref``; with ``real_other``, also the real-vs-real floor (``real_other`` against
    ``real_ref`` at the same sample size: what a perfect generator would score)."""
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
    result["kid_mean"], result["kid_std"] = kernel_distance(real_feats, fake_feats)
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
        result["kid_floor"], _ = kernel_distance(real_feats, other_feats)
        result["precision_floor"], result["recall_floor"] = precision_recall(real_feats, other_feats)
    return result


def classification_accuracy_score(fake_images: torch.Tensor, fake_labels: torch.Tensor,
                                  real_test: InMemoryImages, num_classes: int, epochs: int = 3) -> float:
    """CAS: a fresh classifier trained on generated images only, tested on real test images. High only
    when the images are both right and varied."""
    images = fake_images if fake_images.dtype == torch.uint8 else to_uint8(fake_images)
    model = fit_classifier(InMemoryImages(images, fake_labels.cpu()), num_classes, images.shape[1:], epochs=epochs)
    return accuracy(model, real_test)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats -> uint8 as a saved PNG would hold them."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


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


class GenerationMetrics(L.Callback):
    """Scores the generator during training (after validation, every ``every_n_val`` validations, and
    every ``every_n_batches`` batches if set): ``metrics/conditional_accuracy``, ``metrics/fid``,
    ``metrics/kid``, ``metrics/intra_class_fid`` and ``metrics/fid_floor`` (once) go to TensorBoard, and
    ``best.ckpt`` is kept at the lowest FID. Without a classifier file it says so once and stays off."""

    def __init__(self, classifier_path: str, n_per_class: int = 100, every_n_val: int = 1,
                 every_n_batches: int = 0, save_best: bool = True, dirpath: str | None = None,
                 on_result: Callable[[int, dict], None] | None = None):
        self.classifier_path = classifier_path
        self.n_per_class = n_per_class
        self.every_n_val = every_n_val
        self.every_n_batches = every_n_batches
        self.save_best = save_best
        self.dirpath = Path(dirpath) if dirpath else None
        self.on_result = on_result  # the quality benchmark collects results through this
        self.judge = None
        self.enabled = True
        self.best_fid = math.inf
        self._validations = 0
        self._floor_logged = False
        self._references: tuple[InMemoryImages, InMemoryImages] | None = None

    def setup(self, trainer, pl_module, stage: str) -> None:
        hp = pl_module.hparams
        try:
            self.judge, self.judge_accuracy = load_judge(self.classifier_path, hp.class_names, hp.image_shape)
        except UserError as err:
            self.enabled = False
            if trainer.is_global_zero:
                log.warning("Generation metrics are off: %s", err)

    @rank_zero_only
    def _compute(self, trainer, pl_module) -> dict:
        datamodule = trainer.datamodule
        hp = pl_module.hparams
        self.judge.to(pl_module.device)
        generator = pl_module.sampling_generator
        was_training = generator.training
        generator.eval()
        try:
            images, labels = generate_per_class(generator, hp.latent_dim, hp.num_classes, self.n_per_class,
                                                pl_module.device)
        finally:
            generator.train(was_training)
        if self._references is None:
            self._references = reference_sets(datamodule, hp.num_classes)
        real_ref, real_other = self._references
        return score(self.judge, hp.class_names, images, labels, real_ref,
                     real_other if not self._floor_logged else None, self.n_per_class)

    def _run(self, trainer, pl_module) -> None:
        if not self.enabled or trainer.sanity_checking:
            return
        result = self._compute(trainer, pl_module)
        fid = trainer.strategy.broadcast(result["fid"] if result else math.nan, src=0)
        if result is not None:
            values = {"metrics/conditional_accuracy": result["conditional_accuracy"], "metrics/fid": result["fid"],
                      "metrics/kid": result["kid_mean"], "metrics/intra_class_fid": result["intra_class_fid_mean"],
                      "metrics/precision": result["precision"], "metrics/recall": result["recall"]}
            if "fid_floor" in result:
                values["metrics/fid_floor"] = result["fid_floor"]
                self._floor_logged = True
            for logger in trainer.loggers:
                logger.log_metrics(values, step=trainer.fit_loop.epoch_loop._batches_that_stepped)
            # Also where the final metrics are read from (HParams tab, the value returned to sweepers).
            trainer.callback_metrics.update({k: torch.tensor(v) for k, v in values.items()})
            images_seen = trainer.fit_loop.epoch_loop._batches_that_stepped * trainer.datamodule.batch_size
            log.info("After %d images: conditional accuracy %.3f, FID %.2f, KID %.4f, precision %.2f, recall %.2f",
                     images_seen, result["conditional_accuracy"], result["fid"], result["kid_mean"],
                     result["precision"], result["recall"])
            if self.on_result is not None:
                self.on_result(images_seen, result)
        if self.save_best and self.dirpath is not None and fid < self.best_fid:
            self.best_fid = fid
            trainer.save_checkpoint(self.dirpath / "best.ckpt")  # every rank: it is a collective

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        self._validations += 1
        if self._validations % self.every_n_val == 0:
            self._run(trainer, pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.fit_loop.epoch_loop._batches_that_stepped + 1
        if self.every_n_batches > 0 and step % self.every_n_batches == 0:
            self._run(trainer, pl_module)

    def state_dict(self) -> dict:
        return {"best_fid": self.best_fid}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best_fid = state_dict.get("best_fid", math.inf)


# -- on demand: python -m cgan.evaluate ---------------------------------------------------------------
def load_image_folder(gen_dir: Path, class_names: Sequence[str], image_shape: Sequence[int]):
    """(uint8 images, labels) from ``<gen_dir>/<class name or index>/*.png`` (sample.py's layout)."""
    from cgan.data.folder import load_image

    images, labels = [], []
    for k, name in enumerate(class_names):
        folder = gen_dir / name if (gen_dir / name).is_dir() else gen_dir / str(k)
        for path in sorted(folder.glob("*.png")) if folder.is_dir() else []:
            image = load_image(path, image_shape[1])
            images.append(image[:1] if image_shape[0] == 1 else image)
            labels.append(k)
    if not images:
        raise UserError(f"no images in {gen_dir}/<class>/*.png for classes {', '.join(class_names)}; "
                        "write them with python sample.py ... out_dir=<gen_dir>")
    return torch.stack(images), torch.tensor(labels)


def format_table(result: dict) -> str:
    lines = [f"{'class':<12}{'n':>6}{'cond. acc':>11}{'intra FID':>11}"]
    for name, entry in result["per_class"].items():
        fid = f"{entry['fid']:.2f}" if "fid" in entry else "-"
        lines.append(f"{name:<12}{entry['n']:>6}{entry['conditional_accuracy']:>11.3f}{fid:>11}")
    lines.append("")
    lines.append(f"conditional accuracy {result['conditional_accuracy']:.4f} "
                 f"(the classifier's own test accuracy: {result['classifier_test_accuracy']:.4f})")
    lines.append(f"FID {result['fid']:.2f}   (real-vs-real floor {result.get('fid_floor', math.nan):.2f}),"
                 f" KID {result['kid_mean']:.4f} +- {result['kid_std']:.4f}")
    lines.append(f"precision {result['precision']:.3f}, recall {result['recall']:.3f}   (real vs real "
                 f"{result.get('precision_floor', math.nan):.3f}, {result.get('recall_floor', math.nan):.3f})")
    lines.append(f"mean intra-class FID {result['intra_class_fid_mean']:.2f}   (FID and KID against the real "
                 f"{result.get('reference', 'test')} images)")
    if "classification_accuracy_score" in result:
        lines.append(f"classification accuracy score (trained on generated, tested on real) "
                     f"{result['classification_accuracy_score']:.4f}")
    return "\n".join(lines)


def main_evaluate(cfg) -> dict:
    """Score a checkpoint (``ckpt_path``) or a folder of generated images (``gen_dir``) against the real
    test split of ``data``; print the table and write it as JSON."""
    from cgan.sampling import load_generator
    from cgan.training import build_datamodule

    if (cfg.ckpt_path is None) == (cfg.gen_dir is None):
        raise UserError("pass exactly one of ckpt_path=<checkpoint> or gen_dir=<folder of <class>/*.png>")
    if cfg.n_per_class <= 0:
        raise UserError(f"n_per_class must be a positive integer, got {cfg.n_per_class}")
    # The checkpoint first: a broken one is found before the data is decoded.
    trained = load_generator(cfg.ckpt_path, device=cfg.device) if cfg.ckpt_path is not None else None
    datamodule = build_datamodule(cfg)
    judge, judge_accuracy = load_judge(cfg.classifier_path, datamodule.class_names, datamodule.image_shape)
    if trained is not None:
        if trained.class_names != datamodule.class_names:
            raise UserError(f"the checkpoint's classes {trained.class_names} are not those of data "
                            f"({datamodule.class_names}); pass the data=... it was trained on")
        images, labels = generate_per_class(trained.net, trained.latent_dim, trained.num_classes,
                                            cfg.n_per_class, torch.device(cfg.device), seed=cfg.seed)
        out = Path(cfg.ckpt_path).with_name(Path(cfg.ckpt_path).stem + "_metrics.json")
    else:
        images, labels = load_image_folder(Path(cfg.gen_dir), datamodule.class_names, datamodule.image_shape)
        out = Path(cfg.gen_dir) / "metrics.json"
    real_ref, real_other = reference_sets(datamodule, datamodule.num_classes)
    result = score(judge, datamodule.class_names, images, labels, real_ref, real_other, cfg.n_per_class)
    result["reference"] = getattr(datamodule, "metrics_reference", "test")
    result["classifier_test_accuracy"] = judge_accuracy
    result["source"] = str(cfg.ckpt_path or cfg.gen_dir)
    if cfg.cas:
        result["classification_accuracy_score"] = classification_accuracy_score(
            images, labels, datamodule.test_set, datamodule.num_classes)
    print(format_table(result))
    out.write_text(json.dumps(result, indent=2))
    log.info("Wrote %s", out)
    return result
