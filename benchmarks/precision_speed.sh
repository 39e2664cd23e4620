#!/usr/bin/env bash
# docs/devices-speed-sweeps.md, "Devices and precision": images per second of experiment=rps_best in
# float32 and bf16, with and without its texture levers, interleaved (benchmarks/interleaved_speed.sh), on
# a quiet machine.
#
#   ROUNDS=2 SECONDS_EACH=90 bash benchmarks/precision_speed.sh paths.data_dir=data
set -euo pipefail
before="model.generator.upsample=transpose model.generator.full_res_blocks=0 model.discriminator.stem_width=0 model.discriminator.downsample=stride"
exec bash "$(dirname "$0")/interleaved_speed.sh" "$*" "today-32=trainer.precision=32-true" \
    "today-bf16=trainer.precision=bf16-mixed" "before-32=trainer.precision=32-true $before" \
    "before-bf16=trainer.precision=bf16-mixed $before"
