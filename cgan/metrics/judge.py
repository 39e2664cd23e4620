"""The domain classifier ("judge") that gives a generator numbers.

Standard FID needs Inception weights (a download) and suits 28x28 digits
poorly, so the framework trains its own classifier on the real training split
of each dataset. Its predictions give conditional accuracy; its penultimate
layer (``num_features`` wide) is the feature space for FID and KID.

    cgan-judge                      # MNIST: 99.3% test accuracy
    cgan-judge data=rps epochs=30   # gestures, 64x64 (paths.data_dir=/path/to/data: where rps/ is)

Training it and the check on disturbed real images that follows: :mod:`cgan.metrics.judge_check`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cgan.data.base import InMemoryBatches, InMemoryImages, to_unit_range
from cgan.errors import UserError

log = logging.getLogger(__name__)

JUDGE_FORMAT = 2  # bumped when the classifier's architecture changes


class DomainClassifier(nn.Module):
    """A LeNet-style CNN, the kind of digit classifier people check generated digits with: two conv
    layers with max-pooling, a ``num_features``-wide ReLU layer (the FID/KID feature space), dropout,
    logits. No BatchNorm: generated images with speckled backgrounds must not shift its statistics.
    Larger images are average-pooled to 7x7 before the dense layer."""

    def __init__(self, num_classes: int, image_shape: Sequence[int], width: int = 32, num_features: int = 128,
                 dropout: float = 0.25):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(image_shape[0], width, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(7), nn.Flatten(),
            nn.Linear(2 * width * 49, num_features), nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(num_features, num_classes))
        self.num_features = num_features
        self.config = {"num_classes": num_classes, "image_shape": list(image_shape), "width": width,
                       "num_features": num_features, "dropout": dropout}

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] -> (B, num_features)."""
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images))


@torch.no_grad()
def accuracy(model: nn.Module, data: InMemoryImages, batch_size: int = 500) -> float:
    model.eval()
    correct = 0
    for images, labels in InMemoryBatches(data, batch_size, shuffle=False, drop_last=False):
        correct += (model(to_unit_range(images)).argmax(1) == labels).sum().item()
    return correct / max(len(data), 1)


AUGMENTATIONS = ("flip", "shift", "blur", "noise")
# The disturbances that teach a judge to forgive texture (softness, grain): the photos' judge trains with them.
FORGIVING = ("blur", "noise")


def strict_judge_path(path: str | Path) -> Path:
    """Where the strict judge lives beside the forgiving one: ``rps64.pt`` -> ``rps64_strict.pt``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_strict{path.suffix}")


class StrictJudge(nn.Module):
    """The forgiving judge's classifier with texture added to its feature space: the per-channel mean,
    spread and 2x2-max-pooled mean of its first conv layer's responses at full resolution, standardised
    against the training photos, beside its usual features.

    Those statistics are as steady across real photos as the camera that took them, and a blur, grain
    or a mesh moves them by many of their standard deviations; precision and FID in this space then
    see texture, while the classifier's own features still say what the image shows. A strict judge
    made by dropping the blur and noise augmentation from the small classifier was not strict (its
    pooled features barely moved under a 0.5 px blur); this one meets the texture ladder
    (:data:`cgan.metrics.judge_check.LADDER_TARGETS`). Predictions are the classifier's."""

    def __init__(self, classifier: DomainClassifier, texture_weight: float = 2.0):
        super().__init__()
        self.classifier = classifier
        self.texture_weight = texture_weight
        channels = classifier.body[0].out_channels
        self.register_buffer("texture_mean", torch.zeros(3 * channels))
        self.register_buffer("texture_std", torch.ones(3 * channels))
        self.register_buffer("feature_scale", torch.ones(()))
        self.num_features = classifier.num_features + 3 * channels
        self.config = {"texture_weight": texture_weight}

    def texture(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3 * width): the first conv layer's responses, per channel: mean, spread, mean of 2x2 maxima."""
        conv = self.classifier.body[0]
        responses = F.relu(conv(images))
        return torch.cat([responses.mean((2, 3)), responses.std((2, 3)), F.max_pool2d(responses, 2).mean((2, 3))], 1)

    @torch.no_grad()
    def calibrate(self, images: torch.Tensor, batch_size: int = 500) -> StrictJudge:
        """Standardise against real images in [-1, 1]: each texture statistic to unit spread, the classifier's
        features to unit total spread, so the two parts weigh as ``texture_weight`` says."""
        texture, body = [], []
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            texture.append(self.texture(batch))
            body.append(self.classifier.features(batch))
        texture, body = torch.cat(texture), torch.cat(body)
        self.texture_mean.copy_(texture.mean(0))
        self.texture_std.copy_(texture.std(0).clamp_min(1e-6))
        self.feature_scale.copy_(body.std(0).pow(2).sum().sqrt().clamp_min(1e-6))
        return self

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] -> (B, num_features): what the image shows, then how its texture compares."""
        standardised = (self.texture(images) - self.texture_mean) / self.texture_std
        texture = self.texture_weight * standardised / standardised.shape[1] ** 0.5
        return torch.cat([self.classifier.features(images) / self.feature_scale, texture], 1)

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """Logits from :meth:`features`' output (the classifier's part of it)."""
        return self.classifier.head(features[:, : self.classifier.num_features] * self.feature_scale)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(images)


def augment_batch(images: torch.Tensor, augment: Sequence[str], gen: torch.Generator) -> torch.Tensor:
    """Random disturbances of a batch in [-1, 1], per image: horizontal flip, a shift of up to 1/16 of
    the size, a Gaussian blur (sigma up to 1.2) on half of the images, noise (sigma up to 0.1 of the
    [0, 1] range). A judge trained with them measures what an image shows, not how sharp or clean it
    is, so FID in its features does not punish a slight blur out of all proportion."""
    from torchvision.transforms.functional import gaussian_blur

    n = len(images)
    rand = lambda *shape: torch.rand(*shape, generator=gen).to(images.device)
    if "flip" in augment:
        flip = rand(n) < 0.5
        images = torch.where(flip[:, None, None, None], images.flip(3), images)
    if "shift" in augment:  # whole pixels (nearest), the border repeated
        shift = (rand(n, 2) * 2 - 1) * (2 / 16)  # affine_grid units: 2 = the whole image
        theta = torch.zeros(n, 2, 3, device=images.device)
        theta[:, 0, 0] = theta[:, 1, 1] = 1
        theta[:, :, 2] = shift
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        images = F.grid_sample(images, grid, mode="nearest", padding_mode="border", align_corners=False)
    if "blur" in augment:
        sigma = float(rand(1) * 1.1 + 0.1)
        blurred = gaussian_blur(images, kernel_size=5, sigma=sigma)
        images = torch.where((rand(n) < 0.5)[:, None, None, None], blurred, images)
    if "noise" in augment:
        sigma = rand(n)[:, None, None, None] * 0.2  # up to 0.1 of [0, 1], in [-1, 1] units
        images = (images + sigma * torch.randn(images.shape, generator=gen).to(images.device)).clamp_(-1, 1)
    return images


def fit_classifier(train: InMemoryImages, num_classes: int, image_shape: Sequence[int], epochs: int = 3,
                   batch_size: int = 128, lr: float = 1e-3, width: int = 32, num_features: int = 128,
                   seed: int = 0, device: str = "cpu", augment: Sequence[str] = ()) -> DomainClassifier:
    """Train a DomainClassifier on uint8 images (also used for the classification accuracy score),
    with the random disturbances ``augment`` names (see :func:`augment_batch`)."""
    unknown = set(augment) - set(AUGMENTATIONS)
    if unknown:
        raise UserError(f"unknown judge augmentation(s) {sorted(unknown)}; choose from {', '.join(AUGMENTATIONS)}")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = DomainClassifier(num_classes, image_shape, width, num_features).to(device)
    train = train.to(device)
    batches = InMemoryBatches(train, batch_size, shuffle=True, drop_last=True, seed=seed)
    steps = epochs * len(batches)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(steps, 1))
    model.train()
    for _ in range(epochs):
        for images, labels in batches:
            images = to_unit_range(images)
            if augment:
                images = augment_batch(images, augment, gen)
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()


def _write_atomically(payload: dict, path: Path) -> None:
    """torch.save to a temporary name, then renamed over ``path``: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def save_judge(model: DomainClassifier, path: Path, class_names: Sequence[str], test_accuracy: float,
               augment: Sequence[str] = ()) -> None:
    _write_atomically({"judge_format": JUDGE_FORMAT, "config": model.config, "class_names": list(class_names),
                       "test_accuracy": test_accuracy, "augment": list(augment), "state_dict": model.state_dict()},
                      path)


def load_judge(path: str | Path, class_names: Sequence[str] | None = None,
               image_shape: Sequence[int] | None = None, device: str | torch.device = "cpu"):
    """(frozen DomainClassifier in eval mode, its saved test accuracy); checks it fits the data."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no classifier at {path}; make it with cgan-judge data=<your data> (same data "
                        "and paths overrides; it saves under paths.judge_dir), or point "
                        "callbacks.generation_metrics.classifier_path (train.py) / classifier_path (cgan-evaluate) at one")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model, test_accuracy = _checked_classifier(path, saved, class_names, image_shape)
    model.requires_grad_(False)
    return model.to(device).eval(), test_accuracy


def _checked_classifier(path: Path, saved, class_names, image_shape) -> tuple[DomainClassifier, float]:
    """(the saved DomainClassifier, its saved test accuracy), after checking that the file is a judge of this
    version that fits the data (a strict judge's file: its classifier)."""
    if not isinstance(saved, dict) or saved.get("judge_format") != JUDGE_FORMAT:
        raise UserError(f"{path} is not a classifier written by this version of cgan-judge; "
                        "make it again with that command")
    config = saved["config"]
    if image_shape is not None and list(image_shape) != config["image_shape"]:
        raise UserError(f"classifier {path} was trained on {config['image_shape']} images, this data is "
                        f"{list(image_shape)}; make a matching one with cgan-judge")
    if class_names is not None and list(class_names) != saved["class_names"]:
        raise UserError(f"classifier {path} knows classes {saved['class_names']}, the generator "
                        f"{list(class_names)}; make a matching one with cgan-judge")
    model = DomainClassifier(**config)
    state = saved["state_dict"]
    if "strict_format" in saved:
        state = {k.removeprefix("classifier."): v for k, v in state.items() if k.startswith("classifier.")}
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise UserError(f"{path} does not fit this version's classifier; make it again with "
                        "cgan-judge") from err
    return model, saved["test_accuracy"]


STRICT_FORMAT = 1  # the strict judge's own layout (StrictJudge); bumped when it changes


def save_strict_judge(judge: StrictJudge, path: Path, class_names: Sequence[str], test_accuracy: float,
                      augment: Sequence[str] = ()) -> None:
    _write_atomically({"judge_format": JUDGE_FORMAT, "strict_format": STRICT_FORMAT,
                       "config": judge.classifier.config, "strict_config": judge.config,
                       "class_names": list(class_names), "test_accuracy": test_accuracy,
                       "augment": list(augment), "state_dict": judge.state_dict()}, path)


def load_strict_judge(path: str | Path, class_names: Sequence[str] | None = None,
                      image_shape: Sequence[int] | None = None, device: str | torch.device = "cpu"):
    """The strict judge beside the forgiving judge at ``path`` (frozen), or None where there is none: the
    digits' judge trains without blur and noise and sees texture itself, and a strict judge written by an
    older cgan-judge (a classifier that forgave blur) is passed over with a warning."""
    strict = strict_judge_path(path)
    if not strict.is_file():
        return None
    saved = torch.load(strict, map_location="cpu", weights_only=True)
    if not isinstance(saved, dict) or saved.get("strict_format") != STRICT_FORMAT:
        log.warning("%s was written by an older cgan-judge and forgives texture; strict_* scores are off until "
                    "cgan-judge makes it again (same data and size)", strict)
        return None
    classifier, _ = _checked_classifier(strict, saved, class_names, image_shape)
    judge = StrictJudge(classifier, **saved["strict_config"])
    judge.load_state_dict(saved["state_dict"])
    judge.requires_grad_(False)
    return judge.to(device).eval()
