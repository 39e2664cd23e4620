"""``cgan-evaluate``: score a checkpoint or a folder of generated images against the real data."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import torch

from cgan.checkpoints import checkpoint_file
from cgan.config import instantiate_or_explain
from cgan.data.build import datamodule_config, follow_image_size
from cgan.data.folder import load_image
from cgan.errors import UserError
from cgan.generation import TrainedGenerator, load_generator
from cgan.generation.generator import device_of
from cgan.metrics.judge import load_judge, load_strict_judge
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
    if "strict_fid" in result:
        lines.append(f"strict judge (no blur or noise forgiven): FID {result['strict_fid']:.2f} (floor "
                     f"{result.get('strict_fid_floor', math.nan):.2f}), precision {result['strict_precision']:.3f}, "
                     f"recall {result['strict_recall']:.3f} (real vs real {result.get('strict_precision_floor', math.nan):.3f}, "
                     f"{result.get('strict_recall_floor', math.nan):.3f}), conditional accuracy "
                     f"{result['strict_conditional_accuracy']:.4f}")
    if "spectral_distance" in result:
        lines.append(f"spectrum: distance {result['spectral_distance']:.3f} (real vs real "
                     f"{result.get('spectral_distance_floor', math.nan):.3f}), top band x{result['spectrum_top_ratio']:.2f} "
                     "of the real power; generated / real power by band (cycles per image):")
        lines.append("  " + "  ".join(f"{band} {ratio:.2f}" for band, ratio in result["spectrum_bands"].items()))
    if "training_interpolation" in result:
        lines.append(f"trained on photos resized with {result['training_interpolation']}; real photos read with "
                     "bicubic here")
    if "classification_accuracy_score" in result:
        lines.append(f"classification accuracy score (trained on generated, tested on real) "
                     f"{result['classification_accuracy_score']:.4f}")
    return "\n".join(lines)


def check_fits_data(trained, class_names: Sequence[str] | None, image_shape: Sequence[int]) -> None:
    """One sentence when a generator draws other classes or another image size than the data holds."""
    if class_names is not None and list(trained.class_names) != list(class_names):
        raise UserError(f"the checkpoint draws classes {trained.class_names}, the data holds {list(class_names)}; "
                        "pass the data=... (and data.root=...) it was trained on")
    if tuple(trained.image_shape) != tuple(image_shape):
        channels, height, width = trained.image_shape
        raise UserError(f"the checkpoint draws {channels}x{height}x{width} images, the data gives "
                        f"{'x'.join(map(str, image_shape))}; pass data.image_size={height} (and the data it was "
                        "trained on)")


def evaluate(cfg, trained: TrainedGenerator | None = None) -> dict:
    """Score a checkpoint (``ckpt_path``) or a folder of generated images (``gen_dir``) against the real
    test split of ``data``; log the table and write it as JSON beside the source. ``trained``: a generator
    already loaded (the Python API's), read from ``ckpt_path`` (a checkpoint or an exported file)."""
    if (cfg.ckpt_path is None) == (cfg.gen_dir is None):
        raise UserError("pass exactly one of ckpt_path=<checkpoint> or gen_dir=<folder of <class>/*.png>")
    if cfg.n_per_class <= 0:
        raise UserError(f"n_per_class must be a positive integer, got {cfg.n_per_class}")
    # The checkpoint first, and whether it fits the data, before any data is downloaded or decoded or a
    # classifier is loaded: a broken or mismatched checkpoint is one sentence, at once.
    ckpt_file = None
    if trained is not None:
        ckpt_file = Path(cfg.ckpt_path)
    elif cfg.ckpt_path is not None:
        ckpt_file = checkpoint_file(cfg.ckpt_path)  # a run dir: its best.ckpt when kept, else last.ckpt
        trained = load_generator(ckpt_file, device=cfg.device)
    if trained is not None:
        follow_image_size(cfg, trained.image_shape)  # a GPU's 128 px checkpoint, scored on a CPU
    datamodule = instantiate_or_explain(datamodule_config(cfg), "data")
    if trained is not None:
        check_fits_data(trained, datamodule.expected_classes(), datamodule.image_shape)
    datamodule.prepare_data()
    datamodule.setup("fit")
    if trained is not None:  # classes only setup could tell (an image folder that was not there before)
        check_fits_data(trained, datamodule.class_names, datamodule.image_shape)
    judge, judge_accuracy = load_judge(cfg.classifier_path, datamodule.class_names, datamodule.image_shape)
    strict_judge = load_strict_judge(cfg.classifier_path, datamodule.class_names, datamodule.image_shape)
    if trained is not None:
        images, labels = generate_per_class(trained.net, trained.latent_dim, trained.num_classes,
                                            cfg.n_per_class, device_of(trained.net), seed=cfg.seed)
        out = ckpt_file.with_name(ckpt_file.stem + "_metrics.json")
    else:
        images, labels = load_image_folder(Path(cfg.gen_dir), datamodule.class_names, datamodule.image_shape)
        out = Path(cfg.gen_dir) / "metrics.json"
    real_ref, real_other = reference_sets(datamodule, datamodule.num_classes)
    result = score(judge, datamodule.class_names, images, labels, real_ref, real_other, cfg.n_per_class,
                   strict_judge=strict_judge)
    result["reference"] = getattr(datamodule, "metrics_reference", "test")
    result["classifier_test_accuracy"] = judge_accuracy
    result["source"] = str(ckpt_file or cfg.gen_dir)
    if trained is not None and trained.interpolation is not None:  # the reals were read with bicubic regardless
        result["training_interpolation"] = trained.interpolation
    if cfg.cas:
        result["classification_accuracy_score"] = classification_accuracy_score(
            images, labels, datamodule.test_set, datamodule.num_classes)
    log.info("Scores of %s:\n%s", result["source"], format_table(result))
    out.write_text(json.dumps(result, indent=2))
    log.info("Wrote %s", out)
    return result
