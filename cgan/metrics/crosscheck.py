"""An independent classifier to cross-check the metrics, and scores of checkpoints in its features.

The judge behind the in-training metrics (``cgan-judge``) is small and shallow. A different, deeper
classifier scoring the same samples shows whether a gain is real or only pleases that one judge: every
row of docs/results.md's gesture tables comes from this tool.

    cgan-crosscheck train [--epochs 12] [data overrides ...]      # train, save, print its check tables
    cgan-crosscheck calibrate [data overrides ...]                 # print a saved one's check tables again
    cgan-crosscheck score CKPT [CKPT ...] [--n-per-class 300] [--rejection 2] [data overrides ...]

``train``: a BatchNorm VGG-style CNN (four double-conv blocks, 24 to 192 channels, a 256-wide pooled
feature layer), trained with flips, small rotations and crops, brightness/contrast, blur and noise,
then tested on the data's test split. It prints the disturbance table (held-out real images against
training images: as they are, noisy, blurred, one image per class) and the precision calibration
(held-out test photos, Gaussian-blurred real photos, sigma 0.5 and 1 px, and, for a folder of photos,
the same photos through a bilinear resize), so a reader knows what a precision of 0.3 or 0.5 means.
It reads real photos with the metrics' fixed filter (antialiased bicubic) whatever ``data.interpolation``
says. ``score``: for each checkpoint, ``--n-per-class`` images per class from
its sampling generator (EMA when kept; seed 0, quantised to uint8 like sample.py's PNGs) against as many
training images per class; the floor is another set of training images against the same ones.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms.functional import gaussian_blur

from cgan.config import compose
from cgan.data import ImageFolderDataModule, build_datamodule
from cgan.data.base import InMemoryBatches, InMemoryImages, to_unit_range
from cgan.errors import UserError
from cgan.generation import generate, generate_with_rejection, load_discriminator, load_generator
from cgan.images import to_uint8
from cgan.metrics import frechet_distance, precision_recall
from cgan.metrics.features import judge_images
from cgan.metrics.judge_check import disturbance_table, format_disturbances
from cgan.metrics.score import balanced_subset, generate_per_class, split_halves

log = logging.getLogger(__name__)


class CrossCheckClassifier(nn.Module):
    """A BatchNorm VGG-style CNN: unlike the judge (two plain convs), deep, normalised, globally pooled."""

    def __init__(self, num_classes: int, channels: int, widths=(24, 48, 96, 192), num_features: int = 256):
        super().__init__()
        layers, in_ch = [], channels
        for width in widths:
            layers += [nn.Conv2d(in_ch, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                       nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            in_ch = width
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(in_ch, num_features), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(num_features, num_classes))
        self.config = {"num_classes": num_classes, "channels": channels, "widths": list(widths),
                       "num_features": num_features}

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images))


def disturb_for_training(images: torch.Tensor, gen: torch.Generator, photos: bool) -> torch.Tensor:
    """Random flips (photos only), rotation up to 15 degrees with a crop of up to 10%, brightness and
    contrast, a blur (sigma 0.1-1.5) on half and noise (up to 0.1) on half of the images: the classifier
    learns what a picture shows, not how sharp or clean it is."""
    n = len(images)
    rand = lambda *shape: torch.rand(*shape, generator=gen)
    if photos:
        images = torch.where((rand(n) < 0.5)[:, None, None, None], images.flip(3), images)
    angle = (rand(n) * 2 - 1) * math.radians(15)
    scale = 1 - rand(n) * 0.1
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = scale * angle.cos(), -scale * angle.sin()
    theta[:, 1, 0], theta[:, 1, 1] = scale * angle.sin(), scale * angle.cos()
    theta[:, :, 2] = (rand(n, 2) * 2 - 1) * 0.1
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    images = F.grid_sample(images, grid, padding_mode="border", align_corners=False)
    images = images * (0.8 + 0.4 * rand(n, 1, 1, 1)) + (rand(n, 1, 1, 1) - 0.5) * 0.3
    blurred = gaussian_blur(images, kernel_size=5, sigma=float(rand(1) * 1.4 + 0.1))
    images = torch.where((rand(n) < 0.5)[:, None, None, None], blurred, images)
    noisy = images + rand(n, 1, 1, 1) * 0.2 * torch.randn(images.shape, generator=gen)
    images = torch.where((rand(n) < 0.5)[:, None, None, None], noisy, images)
    return images.clamp(-1, 1)


def train_classifier(train: InMemoryImages, num_classes: int, epochs: int, seed: int = 0,
                     batch_size: int = 64, lr: float = 2e-3) -> CrossCheckClassifier:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = CrossCheckClassifier(num_classes, train.images.shape[1])
    batches = InMemoryBatches(train, batch_size, shuffle=True, drop_last=True, seed=seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(epochs * len(batches), 1))
    model.train()
    for _ in range(epochs):
        for images, labels in batches:
            images = disturb_for_training(to_unit_range(images), gen, photos=images.shape[1] == 3)
            loss = F.cross_entropy(model(images), labels, label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval().requires_grad_(False)


def accuracy_on(model: nn.Module, data: InMemoryImages) -> float:
    """The classifier's accuracy on labelled real images (judge_images runs without gradients)."""
    _, preds = judge_images(model, data.images)
    return (preds == data.labels).float().mean().item()


def calibration_table(model: nn.Module, reference: InMemoryImages, others: InMemoryImages,
                      test: InMemoryImages, num_classes: int, n_per_class: int,
                      resized: dict[str, InMemoryImages] | None = None) -> dict[str, dict]:
    """What precision and recall read for real images: other training images, held-out test photos,
    Gaussian-blurred training images (sigma 0.5 and 1 px), and (``resized``) the same other training
    images as another resize filter hands them to D, each against the same reference."""
    ref_idx = balanced_subset(reference.labels, n_per_class, num_classes)
    ref_feats, _ = judge_images(model, reference.images[ref_idx])
    idx = balanced_subset(others.labels, n_per_class, num_classes, seed=1)
    images = to_unit_range(others.images[idx])
    test_idx = balanced_subset(test.labels, n_per_class, num_classes, seed=2)
    cases = {"training images": images, "held-out test photos": to_unit_range(test.images[test_idx]),
             "blur sigma 0.5 px": gaussian_blur(images, kernel_size=5, sigma=0.5),
             "blur sigma 1 px": gaussian_blur(images, kernel_size=5, sigma=1.0)}
    for name, same_photos in (resized or {}).items():
        cases[f"resized {name}"] = to_unit_range(same_photos.images[idx])
    table = {}
    for name, batch in cases.items():
        feats, _ = judge_images(model, batch)
        precision, recall = precision_recall(ref_feats, feats)
        table[name] = {"fid": frechet_distance(ref_feats, feats), "precision": precision, "recall": recall}
    return table


def load_data(overrides: list[str]):
    cfg = compose("train", overrides, "outputs/crosscheck")
    datamodule = build_datamodule(cfg).for_metrics()  # real images read as every metric reads them
    if not isinstance(datamodule.train_set, InMemoryImages):
        raise UserError("the cross-check classifier trains on in-memory data: set data.in_memory=true")
    name = cfg.data._target_.rsplit(".", 1)[-1].removesuffix("DataModule").lower()
    path = Path(cfg.paths.judge_dir) / f"crosscheck_{name}{datamodule.image_shape[-1]}.pt"
    return datamodule, path


def train(args) -> None:
    datamodule, path = load_data(args.overrides)
    start = time.perf_counter()
    model = train_classifier(datamodule.train_set.to("cpu"), datamodule.num_classes, args.epochs, seed=args.seed)
    accuracy = accuracy_on(model, datamodule.test_set.to("cpu"))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": model.config, "class_names": list(datamodule.class_names), "test_accuracy": accuracy,
                "image_shape": list(datamodule.image_shape), "state_dict": model.state_dict()}, path)
    print(f"cross-check classifier: test accuracy {accuracy:.3f} on {len(datamodule.test_set)} images, "
          f"{args.epochs} epochs in {(time.perf_counter() - start) / 60:.1f} min; saved to {path}")
    print_checks(model, datamodule, args.n_per_class)


def print_checks(model: nn.Module, datamodule, n: int) -> None:
    """The disturbance table and the precision calibration of a classifier on ``datamodule``'s photos."""
    reference, others = split_halves(datamodule.train_set.to("cpu"), datamodule.num_classes)
    print(format_disturbances(disturbance_table(model, reference, others, datamodule.num_classes, n_per_class=n)))
    resized = {}
    if isinstance(datamodule, ImageFolderDataModule):  # the same photos as a bilinear pipeline hands them to D
        bilinear = datamodule.resized_with("bilinear")
        resized["bilinear"] = split_halves(bilinear.train_set.to("cpu"), datamodule.num_classes)[1]
    table = calibration_table(model, reference, others, datamodule.test_set.to("cpu"), datamodule.num_classes, n,
                              resized)
    print(f"{'calibration':<22}{'FID':>9}{'prec':>7}{'recall':>7}")
    for name, row in table.items():
        print(f"{name:<22}{row['fid']:>9.3f}{row['precision']:>7.2f}{row['recall']:>7.2f}")


def calibrate(args) -> None:
    datamodule, path = load_data(args.overrides)
    print_checks(load_classifier(path, datamodule.class_names, datamodule.image_shape), datamodule, args.n_per_class)


def load_classifier(path: Path, class_names, image_shape) -> CrossCheckClassifier:
    if not path.is_file():
        raise UserError(f"no cross-check classifier at {path}: make it with cgan-crosscheck train (same data "
                        "overrides)")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if saved["class_names"] != list(class_names) or saved["image_shape"] != list(image_shape):
        raise UserError(f"{path} knows {saved['class_names']} at {saved['image_shape']}, the checkpoint "
                        f"{list(class_names)} at {list(image_shape)}: pass the checkpoint's data overrides")
    model = CrossCheckClassifier(**saved["config"])
    model.load_state_dict(saved["state_dict"])
    return model.eval().requires_grad_(False)


def score(args) -> None:
    datamodule, path = load_data(args.overrides)
    model = load_classifier(path, datamodule.class_names, datamodule.image_shape)
    num_classes, n = datamodule.num_classes, args.n_per_class
    reference, others = split_halves(datamodule.train_set.to("cpu"), num_classes)
    ref_idx = balanced_subset(reference.labels, n, num_classes)
    ref_feats, _ = judge_images(model, reference.images[ref_idx])
    other_feats, _ = judge_images(model, others.images[balanced_subset(others.labels, n, num_classes, seed=1)])
    floor = frechet_distance(ref_feats, other_feats)
    print(f"{'checkpoint':<60}{'acc':>7}{'FID':>8}{'x floor':>9}{'prec':>7}{'recall':>7}   (floor FID {floor:.3f})")
    # --grid: a block of 8 training photos per class, then 8 images per class of each checkpoint
    blocks = [reference.images[balanced_subset(reference.labels, 8, num_classes, seed=3)]]
    for ckpt in args.checkpoints:
        trained = load_generator(ckpt)
        if trained.class_names != list(datamodule.class_names) or list(trained.image_shape) != list(
                datamodule.image_shape):
            raise UserError(f"{ckpt} draws {trained.class_names} at {list(trained.image_shape)}, the data is "
                            f"{list(datamodule.class_names)} at {list(datamodule.image_shape)}")
        if args.rejection:  # each image the best of `rejection` candidates as the checkpoint's D rates them
            images = to_uint8(generate_with_rejection(trained, load_discriminator(ckpt), list(range(num_classes)), n,
                                                      args.rejection, seed=args.seed, truncation=args.truncation))
            labels = torch.arange(num_classes).repeat_interleave(n)
        elif args.truncation is not None:  # sample.py truncation=: noise redrawn until |z| <= t
            images = to_uint8(generate(trained, list(range(num_classes)), n, seed=args.seed,
                                       truncation=args.truncation))
            labels = torch.arange(num_classes).repeat_interleave(n)
        else:
            images, labels = generate_per_class(trained.net, trained.latent_dim, num_classes, n, torch.device("cpu"),
                                                seed=args.seed)
        feats, preds = judge_images(model, images)
        precision, recall = precision_recall(ref_feats, feats)
        fid = frechet_distance(ref_feats, feats)
        accuracy = (preds == labels).float().mean().item()
        blocks.append(torch.cat([images[labels == k][:8] for k in range(num_classes)]))
        print(f"{str(ckpt):<60}{accuracy:>7.3f}{fid:>8.3f}{fid / floor:>9.1f}{precision:>7.2f}{recall:>7.2f}",
              flush=True)
    if args.grid:
        from torchvision.utils import save_image

        rows = torch.cat(blocks).float() / 255  # each block: one row of 8 per class
        save_image(rows, args.grid, nrow=8, padding=2, pad_value=1.0)
        print(f"wrote {args.grid}: rows of 8 per class, first the training photos, then each checkpoint in order")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="train the cross-check classifier and print its check tables")
    p_train.add_argument("--epochs", type=int, default=12)
    p_calibrate = sub.add_parser("calibrate", help="print a saved classifier's check tables again")
    p_score = sub.add_parser("score", help="score checkpoints in the cross-check classifier's features")
    p_score.add_argument("--grid", type=Path, default=None,
                         help="also write a PNG: 8 training photos per class, then 8 images per class of each checkpoint")
    p_score.add_argument("--rejection", type=float, default=None,
                         help="draw this many times the images and keep those D rates best (sample.py rejection=)")
    p_score.add_argument("--truncation", type=float, default=None,
                         help="draw noise truncated at |z| <= this (sample.py truncation=)")
    for p in (p_train, p_calibrate, p_score):
        p.add_argument("--n-per-class", type=int, default=300)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("args", nargs="*", help="checkpoints (score), and Hydra overrides of conf/train.yaml "
                                                "naming the data (key=value)")
    args, rest = parser.parse_known_args(argv)  # positionals may come after the options
    unknown = [a for a in rest if a.startswith("-")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    positional = [*args.args, *rest]
    args.overrides = [a for a in positional if "=" in a]
    args.checkpoints = [Path(a) for a in positional if "=" not in a]
    if args.command == "score" and not args.checkpoints:
        parser.error("score needs at least one checkpoint")
    logging.basicConfig(level=logging.WARNING)
    try:
        {"train": train, "calibrate": calibrate, "score": score}[args.command](args)
    except UserError as err:
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    main()
