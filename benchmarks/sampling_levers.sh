#!/usr/bin/env bash
# The table of docs/sampling.md: what truncated noise and discriminator rejection do to one checkpoint's
# images, scored on two classifiers: the cross-check classifier (cgan-crosscheck) and the judge of the
# in-training metrics (cgan-judge, through sample.py + cgan-evaluate gen_dir=).
#
#   bash benchmarks/sampling_levers.sh CHECKPOINT [data overrides ...]
#   bash benchmarks/sampling_levers.sh outputs/levers/checkpoints/last.ckpt data=rps paths.data_dir=data
#
# Needs both classifiers first (cgan-crosscheck train data=rps ..., cgan-judge data=rps ...). Prints one
# line per lever and classifier; the images sample.py wrote stay under outputs/levers_samples/.
set -euo pipefail
ckpt=$1
shift
n=300  # images per class, as cgan-crosscheck score's default
for lever in "" "--truncation 1.5" "--truncation 1.0" "--truncation 0.7" "--truncation 0.5" "--rejection 2" "--rejection 4"; do
    echo "== ${lever:-plain}, cross-check classifier: $(cgan-crosscheck score "$ckpt" --n-per-class $n $lever "$@" | tail -1)"
    option=$(echo "$lever" | sed -e 's/--truncation /truncation=/' -e 's/--rejection /rejection=/')
    out=outputs/levers_samples/${option:-plain}
    out=${out//=/_}  # a folder name without "=", which Hydra would read as an override
    rm -rf "$out"
    python sample.py ckpt_path="$ckpt" n_per_label=$n out_dir="$out" $option > /dev/null 2>&1
    cgan-evaluate gen_dir="$out" n_per_class=$n "$@" 2>&1 | grep -E "conditional accuracy|^FID|^precision" \
        | tr '\n' ' ' | sed "s/^/== ${lever:-plain}, judge: /"
    echo
done
