"""``cgan-evaluate``: score a checkpoint or a folder of generated images against the real data."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import torch

from cgan.data import build_datamodule
from cgan.data.folder import load_image
from cgan.errors import UserError
from cgan.generation import load_generator
from cgan.metrics.judge import load_judge
from cgan.metrics.score import classification_accuracy_score, generate_per_class, reference_sets, score

log = logging.getLogger(__name__)


def load_image_folder(gen_dir: Path, class_names: Sequence[str], image_shape: Sequence[int]):
    """(uint8 images, labels) from ``<gen_dir>/<class name or index>/*.png`` (sample.py's layout)."""
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
                 f" KIDx1000 {result['kid_x1000']:.2f} +- {result['kid_x1000_std']:.2f}")
    lines.append(f"precision {result['precision']:.3f}, recall {result['recall']:.3f}   (real vs real "
                 f"{result.get('precision_floor', math.nan):.3f}, {result.get('recall_floor', math.nan):.3f})")
    lines.append(f"mean intra-class FID {result['intra_class_fid_mean']:.2f}   (FID and KID against the real "
                 f"{result.get('reference', 'test')} images)")
    if "classification_accuracy_score" in result:
        lines.append(f"classification accuracy score (trained on generated, tested on real) "
                     f"{result['classification_accuracy_score']:.4f}")
    return "\n".join(lines)


def evaluate(cfg) -> dict:
    """Score a checkpoint (``ckpt_path``) or a folder of generated images (``gen_dir``) against the real
    test split of ``data``; log the table and write it as JSON beside the source."""
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
    log.info("Scores of %s:\n%s", result["source"], format_table(result))
    out.write_text(json.dumps(result, indent=2))
    log.info("Wrote %s", out)
    return result
