"""Quality against images seen, one line per preset: the budget curve of docs/results.md.

    python -m benchmarks.budget_curve docs/images/rps_budget.csv docs/images/rps_budget.png

The CSV has one row per scored checkpoint: ``preset,images,fid_x_floor,precision,recall`` (the
cross-check classifier's figures, ``cgan-crosscheck score``). The PNG has FID (x the real-vs-real
floor, log scale) and precision against images seen, side by side. Needs matplotlib.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path


def plot(rows: list[dict], out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("the budget curve needs matplotlib: pip install matplotlib") from None
    series = defaultdict(list)
    for row in rows:
        series[row["preset"]].append((int(row["images"]), float(row["fid_x_floor"]), float(row["precision"])))
    fig, (fid_ax, prec_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, points in series.items():
        points.sort()
        images = [p[0] / 1000 for p in points]
        fid_ax.plot(images, [p[1] for p in points], marker="o", label=name)
        prec_ax.plot(images, [p[2] for p in points], marker="o", label=name)
    fid_ax.set(xlabel="thousand images seen", ylabel="FID / real-vs-real floor", yscale="log", title="FID (lower is better)")
    prec_ax.set(xlabel="thousand images seen", ylabel="precision", ylim=(0, 1), title="precision (higher is better)")
    for ax in (fid_ax, prec_ax):
        ax.grid(alpha=0.3)
    prec_ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit(__doc__.split("\n\n")[1])
    with open(args[0], newline="") as f:
        plot(list(csv.DictReader(f)), Path(args[1]))
    print(f"wrote {args[1]}")


if __name__ == "__main__":
    main()
