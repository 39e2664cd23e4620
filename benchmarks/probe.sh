#!/usr/bin/env bash
# One row of docs/history.md's gesture lever sweep: train experiment=rps_best with the overrides given for a
# fixed number of images (not minutes), then score its last checkpoint on the cross-check classifier.
#
#   bash benchmarks/probe.sh NAME IMAGES [train overrides ...]
#   bash benchmarks/probe.sh bicubic 60000 paths.data_dir=data
#   bash benchmarks/probe.sh ada0.6 60000 paths.data_dir=data model.augment.ada_target=0.6
#
# Needs the cross-check classifier first (cgan-crosscheck train data=rps paths.data_dir=...). Appends
# "name, images, seconds, images/s, then the score line" to outputs/probes/probes.tsv; the run dir is
# outputs/probes/NAME. Run it on a quiet machine: images/s is part of the row.
set -euo pipefail
name=$1 images=$2
shift 2
batch=32
steps=$(( 2 * (images + batch - 1) / batch ))  # a D and a G step per batch
run=outputs/probes/$name
rm -rf "$run"
start=$(date +%s.%N)
python train.py experiment=rps_best trainer.max_time=null trainer.max_steps=$steps data.batch_size=$batch \
    hydra.run.dir="$run" console.progress=log print_config=false "$@" > "$run.log" 2>&1 \
    || { mkdir -p "$run"; tail -5 "$run.log"; exit 1; }
seconds=$(python -c "import time; print(round(time.time() - $start, 1))")
paths=$(printf '%s\n' "$@" | grep -E '^paths\.' | tr '\n' ' ' || true)
# The classifier reads real photos with its own fixed filter, whatever data.interpolation trained on.
score=$(cgan-crosscheck score "$run/checkpoints/last.ckpt" data=rps $paths | tail -1)
row="$name	$images	$seconds	$(python -c "print(round($images / $seconds, 1))")	$score	$*"
echo "$row" | tee -a outputs/probes/probes.tsv
