#!/usr/bin/env bash
# docs/results.md, "Levers at equal images": train experiment=rps_best as it is (float32, as a CPU trains it)
# plus the overrides given, for a fixed number of images instead of minutes, then score its last
# checkpoint with cgan-evaluate (both judges and the spectrum; make them first with cgan-judge data=rps) and
# append its table row to outputs/probes/levers.md.
#
#   bash benchmarks/lever_probes.sh NAME IMAGES [train overrides ...]
#   bash benchmarks/lever_probes.sh base-s7 40032 paths.data_dir=data seed=7
#   bash benchmarks/lever_probes.sh stem0 40032 paths.data_dir=data model.discriminator.stem_width=0
#
# The run dir is outputs/probes/NAME. Training scores itself only once, at its end (every 10th epoch would
# cost a third of the time).
set -euo pipefail
name=$1 images=$2
shift 2
batch=32
steps=$(( 2 * ((images + batch - 1) / batch) ))  # a D and a G step per batch
run=outputs/probes/$name
rm -rf "$run"
mkdir -p outputs/probes
start=$(date +%s)
python train.py experiment=rps_best trainer.max_time=null trainer.max_steps=$steps data.batch_size=$batch \
    trainer.precision=32-true callbacks.generation_metrics.every_n_val=100000 \
    callbacks.model_checkpoint.train_time_interval=null \
    hydra.run.dir="$run" console.progress=log print_config=false "$@" > "$run.log" 2>&1
seconds=$(( $(date +%s) - start ))
paths=$(printf '%s\n' "$@" | grep -E '^paths\.' | tr '\n' ' ' || true)
table=$(python -m benchmarks.score_steps "$run/checkpoints/last.ckpt" data=rps n_per_class=300 $paths | tail -1)
echo "| $name | $* | $seconds s, $(( images / seconds )) img/s ${table}" | tee -a outputs/probes/levers.md
