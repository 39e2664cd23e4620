#!/usr/bin/env bash
# docs/results.md, "Texture: the mesh and its levers": train experiment=rps_best (as it was before its
# texture levers, plus the overrides given) for 60,000 images in float32, then score the last checkpoint
# with cgan-evaluate (both judges and the spectrum; make them first with cgan-judge data=rps).
#
#   bash benchmarks/texture_probes.sh NAME [train overrides ...]
#   bash benchmarks/texture_probes.sh base paths.data_dir=data
#   bash benchmarks/texture_probes.sh full paths.data_dir=data model.generator.upsample=fir \
#       model.discriminator.downsample=fir model.generator.full_res_blocks=1 model.discriminator.stem_width=32
#
# The run dir is outputs/probes/NAME; the scores are outputs/probes/NAME.eval and the JSON beside the checkpoint.
set -euo pipefail
name=$1
shift
run=outputs/probes/$name
rm -rf "$run"
mkdir -p outputs/probes
before_texture_levers=(model.generator.upsample=transpose model.generator.full_res_blocks=0
                       model.discriminator.stem_width=0 model.discriminator.downsample=stride)
python train.py experiment=rps_best trainer.max_time=null trainer.max_steps=3750 data.batch_size=32 \
    trainer.precision=32-true callbacks.generation_metrics.every_n_val=1000 hydra.run.dir="$run" \
    console.progress=log print_config=false "${before_texture_levers[@]}" "$@" > "$run.log" 2>&1
paths=$(printf '%s\n' "$@" | grep -E '^paths\.' | tr '\n' ' ' || true)
cgan-evaluate ckpt_path="$run/checkpoints/last.ckpt" data=rps n_per_class=300 $paths > "outputs/probes/$name.eval" 2>&1
grep -E "^conditional accuracy|^FID|^precision|^strict|^spectrum|^  1-2" "outputs/probes/$name.eval"
