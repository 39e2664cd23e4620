"""How live the page feels: milliseconds per picture of each view, straight through the page's own code.

    python -m benchmarks.app_bench ckpt_path [--repeats 20] [--images 16]
    python -m benchmarks.app_bench outputs/<run>/checkpoints/last.ckpt
    python -m benchmarks.app_bench outputs/<run>/checkpoints/last_generator.onnx

Times, after one warm-up call, the three views the page serves (a class's grid, the same noise as every
class, a walk between two seeds), from noise to the finished PNG-ready picture, median and worst of
``--repeats`` calls. The server's own overhead (HTTP, PNG encoding) is not in these figures.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from cgan.app.open_file import open_backend
from cgan.app.views import Views


def time_calls(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up: first-call allocations and kernel choices
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, max(times) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ckpt_path", help="a training checkpoint (.ckpt) or an ONNX export (.onnx)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--images", type=int, default=16, help="images in the class grid")
    parser.add_argument("--rows", type=int, default=4, help="noise vectors in the every-class view")
    parser.add_argument("--steps", type=int, default=8, help="steps of the walk")
    args = parser.parse_args(argv)
    backend = open_backend(args.ckpt_path)
    views = Views(backend)
    name = backend.class_names[0]
    classes = len(backend.class_names)
    cases = [
        (f"class grid, {args.images} images", args.images, lambda: views.class_grid(name, args.images, 0)),
        (f"every class, {args.rows} rows", args.rows * classes, lambda: views.every_class(args.rows, 0)),
        (f"walk, {args.steps} steps x {classes} classes", args.steps * classes,
         lambda: views.interpolate(backend.class_names, 0, 1, args.steps)),
    ]
    shape = "x".join(map(str, backend.image_shape))
    print(f"{backend.source} ({backend.kind}), {shape} images, {torch.get_num_threads()} torch threads")
    print(f"{'view':<34}{'images':>8}{'median ms':>11}{'worst ms':>10}{'images/s':>10}")
    for label, n, fn in cases:
        median, worst = time_calls(fn, args.repeats)
        print(f"{label:<34}{n:>8}{median:>11.1f}{worst:>10.1f}{n / median * 1000:>10.0f}")


if __name__ == "__main__":
    main()
