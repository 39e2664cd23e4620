#!/usr/bin/env bash
# README's docs/images/overview.png: 12 samples per class from a digits run and a gestures run (their best.ckpt
# when kept), side by side at one height.
#
#   bash benchmarks/overview.sh outputs/<mnist_best run> outputs/<rps_best run> docs/images/overview.png
set -euo pipefail
digits=$1 gestures=$2 out=${3:-docs/images/overview.png}
tmp=$(mktemp -d)
python sample.py ckpt_path="$digits" n_per_label=12 seed=0 out_dir="$tmp/digits"
python sample.py ckpt_path="$gestures" n_per_label=12 seed=0 out_dir="$tmp/gestures"
python - "$tmp/digits/grid.png" "$tmp/gestures/grid.png" "$out" <<'PY'
import sys
from PIL import Image
left, right = (Image.open(path).convert("RGB") for path in sys.argv[1:3])
height = max(left.height, right.height)
left = left.resize((round(left.width * height / left.height), height), Image.NEAREST)  # digits: crisp pixels
right = right.resize((round(right.width * height / right.height), height), Image.LANCZOS)
picture = Image.new("RGB", (left.width + right.width + 16, height), "white")
picture.paste(left, (0, 0))
picture.paste(right, (left.width + 16, 0))
picture.save(sys.argv[3], optimize=True)
PY
rm -rf "$tmp"
