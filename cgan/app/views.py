"""The page's three pictures, computed in numpy from a :class:`~cgan.app.backend.Backend`.

The noise comes from numpy's seeded generator, so a seed gives the same picture from a checkpoint and
from its ONNX export. Requests beyond sane bounds raise :class:`~cgan.errors.UserError` with one sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cgan.app.backend import Backend
from cgan.errors import UserError

MAX_STEPS = 32
MAX_SEED = 2**32 - 1


def check_seed(seed: float | None, name: str = "seed") -> int:
    if seed is None or not float(seed).is_integer() or not 0 <= int(seed) <= MAX_SEED:
        raise UserError(f"{name}={seed} is not a whole number from 0 to {MAX_SEED}; pick one, or press 'new seed'")
    return int(seed)


def draw_noise(seed: int, n: int, latent_dim: int, truncation: float | None = None) -> np.ndarray:
    """(n, latent_dim) standard normal noise; with ``truncation=t`` every value is redrawn until |z| <= t
    (article 000's "temperature": smaller t, less varied images; docs/sampling.md measures the cost)."""
    if truncation is not None and not truncation > 0:
        raise UserError(f"truncation={truncation} must be positive (e.g. 0.7), or switch truncation off")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, latent_dim), dtype=np.float32)
    if truncation is not None:
        outside = np.abs(z) > truncation
        while outside.any():
            z[outside] = rng.standard_normal(int(outside.sum()), dtype=np.float32)
            outside = np.abs(z) > truncation
    return z


def grid(images: np.ndarray, per_row: int, padding: int = 2, min_width: int = 512) -> np.ndarray:
    """(B, C, H, W) in [-1, 1] -> one (height, width, 3) uint8 picture, ``per_row`` images a row, scaled up
    by whole pixels until it is at least ``min_width`` wide (28x28 digits are tiny on a screen)."""
    b, c, h, w = images.shape
    rows = -(-b // per_row)
    pixels = ((np.clip(images, -1, 1) + 1) * 127.5).round().astype(np.uint8)
    if c == 1:
        pixels = np.repeat(pixels, 3, axis=1)
    out = np.zeros((3, rows * (h + padding) + padding, per_row * (w + padding) + padding), dtype=np.uint8)
    for i in range(b):
        top, left = padding + (i // per_row) * (h + padding), padding + (i % per_row) * (w + padding)
        out[:, top : top + h, left : left + w] = pixels[i, :3]
    scale = max(1, -(-min_width // out.shape[2]))
    return np.ascontiguousarray(out.transpose(1, 2, 0).repeat(scale, axis=0).repeat(scale, axis=1))


def class_index(backend: Backend, label: str | int) -> int:
    if isinstance(label, str) and label in backend.class_names:
        return backend.class_names.index(label)
    if isinstance(label, int) and 0 <= label < len(backend.class_names):
        return label
    raise UserError(f"unknown class {label!r}: this generator draws {', '.join(backend.class_names)}")


class Views:
    """What the page asks for; ``max_images`` bounds every request (the page's slider stops there too)."""

    def __init__(self, backend: Backend, max_images: int = 64):
        self.backend = backend
        self.max_images = max_images

    def _check_count(self, n: float, what: str = "images") -> int:
        if n is None or not float(n).is_integer() or not 1 <= int(n) <= self.max_images:
            raise UserError(f"{what}={n} is out of range: ask for 1 to {self.max_images} at a time")
        return int(n)

    def class_grid(self, label: str | int, n: int = 16, seed: int = 0, truncation: float | None = None) -> np.ndarray:
        """``n`` images of one class, eight a row."""
        k, n, seed = class_index(self.backend, label), self._check_count(n), check_seed(seed)
        z = draw_noise(seed, n, self.backend.latent_dim, truncation)
        images = self.backend.draw(z, np.full(n, k, dtype=np.int64))
        return grid(images, per_row=min(n, 8))

    def every_class(self, n: int = 4, seed: int = 0, truncation: float | None = None) -> np.ndarray:
        """The same ``n`` noise vectors drawn as every class: a row per noise vector, a column per class.
        What stays along a row is the style; what changes is the class."""
        classes = len(self.backend.class_names)
        n, seed = self._check_count(n, "rows"), check_seed(seed)
        if n * classes > 4 * self.max_images:
            raise UserError(f"{n} rows x {classes} classes is too many images at once; ask for at most "
                            f"{4 * self.max_images // classes} rows")
        z = np.repeat(draw_noise(seed, n, self.backend.latent_dim, truncation), classes, axis=0)
        labels = np.tile(np.arange(classes, dtype=np.int64), n)
        return grid(self.backend.draw(z, labels), per_row=classes)

    def interpolate(self, labels: Sequence[str | int], seed: int = 0, seed_to: int = 1, steps: int = 8,
                    truncation: float | None = None) -> np.ndarray:
        """A straight walk from the noise of ``seed`` to that of ``seed_to``, the same walk for every chosen
        class: a row per class, ``steps`` images a row (article 002's figure)."""
        if not labels:
            raise UserError("choose at least one class to interpolate")
        ks = [class_index(self.backend, label) for label in labels]
        if steps is None or not float(steps).is_integer() or not 2 <= int(steps) <= MAX_STEPS:
            raise UserError(f"steps={steps} is out of range: walk in 2 to {MAX_STEPS} steps")
        steps = int(steps)
        start = draw_noise(check_seed(seed), 1, self.backend.latent_dim, truncation)[0]
        end = draw_noise(check_seed(seed_to, "second seed"), 1, self.backend.latent_dim, truncation)[0]
        t = np.linspace(0, 1, steps, dtype=np.float32)[:, None]
        line = (1 - t) * start + t * end
        z = np.tile(line, (len(ks), 1))
        classes = np.repeat(np.asarray(ks, dtype=np.int64), steps)
        return grid(self.backend.draw(z, classes), per_row=steps)


# Below this share of the untruncated images' contrast at truncation 1.0, the page hides truncation: the
# generator was not trained for it and it fades every image (docs/sampling.md: the gesture model).
WASHED_OUT = 0.9


@dataclass
class TruncationCost:
    """What truncation ``t`` does to this generator, against untruncated noise (same seed, same classes):
    ``contrast``, the images' own pixel spread (below 1: faded); ``variety``, the spread across a class's
    images (below 1: alike, what truncation is for)."""

    t: float
    contrast: float
    variety: float

    @property
    def washes_out(self) -> bool:
        return self.contrast < WASHED_OUT

    def sentence(self) -> str:
        return (f"truncation {self.t:g} keeps {self.contrast:.0%} of this generator's contrast and "
                f"{self.variety:.0%} of its variety (measured at start on a few images per class)")


def truncation_cost(backend: Backend, t: float = 1.0, per_class: int = 16, seed: int = 0) -> TruncationCost:
    """Draw ``per_class`` images of every class with and without truncation ``t`` and compare their spread."""
    classes = len(backend.class_names)
    labels = np.repeat(np.arange(classes), per_class)
    spread = []
    for truncation in (None, t):
        images = backend.draw(draw_noise(seed, len(labels), backend.latent_dim, truncation), labels)
        images = images.reshape(classes, per_class, -1)
        spread.append((images.std(axis=2).mean(), images.std(axis=1).mean()))
    (contrast, variety), (t_contrast, t_variety) = spread
    return TruncationCost(t, float(t_contrast / contrast), float(t_variety / variety))
