"""Make a folder of non-square photos from a folder of square ones, to try ``data.fit`` on.

    python -m cgan.data.wide_photos data/rps outputs/wide_rps [--size 300x200] [--compare fits.png]

Every ``<src>/<class>/<image>`` (square, subject on a near-white background, like the gesture photos)
becomes ``<dst>/<class>/<image>.png`` of the given size: squashed so the subject spans the whole width,
the near-white background turned green. That is the kind of folder where ``data.fit=crop`` cuts off
what lies at the sides (fingertips, wrists) and ``data.fit=pad`` keeps it (docs/data.md). ``--compare``
also writes a picture of the first photo of each class as each fit makes it (rows crop, pad, stretch).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

GREEN = np.array([40, 160, 60], dtype=np.float32)


def widen(src: Path, dst: Path, width: int, height: int) -> int:
    count = 0
    for folder in sorted(d for d in src.iterdir() if d.is_dir()):
        (dst / folder.name).mkdir(parents=True, exist_ok=True)
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
                continue
            with Image.open(path) as img:
                pixels = np.asarray(img.convert("RGB").resize((width, height), Image.BILINEAR), dtype=np.float32)
            whiteness = np.clip((pixels.min(axis=2, keepdims=True) - 200) / 40, 0, 1)  # 1 on the background
            out = pixels * (1 - whiteness) + GREEN * whiteness
            Image.fromarray(out.round().astype(np.uint8)).save(dst / folder.name / f"{path.stem}.png")
            count += 1
    return count


def compare_fits(folder: Path, out: Path, size: int = 64) -> None:
    """One row per data.fit (crop, pad, stretch), one column per class: what the nets would see."""
    import torch
    from torchvision.utils import save_image

    from cgan.data.folder import FITS, load_image

    firsts = [sorted(d.iterdir())[0] for d in sorted(folder.iterdir()) if d.is_dir()]
    images = [load_image(path, size, fit) for fit in FITS for path in firsts]
    save_image(torch.stack(images).float() / 255, out, nrow=len(firsts), padding=2, pad_value=1.0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--size", default="300x200", help="width x height of the new photos (default 300x200)")
    parser.add_argument("--compare", type=Path, help="also write this PNG: rows crop, pad, stretch of each class")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    print(f"wrote {widen(args.src, args.dst, width, height)} photos of {width}x{height} to {args.dst}")
    if args.compare:
        compare_fits(args.dst, args.compare)
        print(f"wrote {args.compare}")


if __name__ == "__main__":
    main()
