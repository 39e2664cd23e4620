#!/usr/bin/env bash
# docs/devices-speed-sweeps.md, "Devices and precision": images per second of experiment=rps_best in
# float32 and bf16, with and without its texture levers, interleaved (ROUNDS rounds of the four runs,
# SECONDS each), on a quiet machine. Prints one line per run: the median of the rates logged after the
# first 30 seconds.
#
#   ROUNDS=2 SECONDS_EACH=90 bash benchmarks/precision_speed.sh paths.data_dir=data
set -euo pipefail
rounds=${ROUNDS:-1} seconds=${SECONDS_EACH:-90}
before_texture_levers="model.generator.upsample=transpose model.generator.full_res_blocks=0 model.discriminator.stem_width=0 model.discriminator.downsample=stride"
out=$(mktemp -d)
for round in $(seq "$rounds"); do
  for preset in today before; do
    for precision in 32-true bf16-mixed; do
      levers=""; [ "$preset" = before ] && levers=$before_texture_levers
      log="$out/$preset-$precision-$round.log"
      python train.py experiment=rps_best trainer.precision=$precision trainer.max_time=00:00:00:$seconds \
          hydra.run.dir="$out/run" console.progress=log console.interval_s=10 print_config=false \
          callbacks.generation_metrics.every_n_val=1000 $levers "$@" > "$log" 2>&1
      rates=$(grep -o '[0-9]* img/s' "$log" | awk '{print $1}' | tail -n +4 | sort -n)
      median=$(echo "$rates" | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "none")}')
      echo "rps_best ($preset) $precision round $round: $median img/s (median of $(echo "$rates" | wc -l) readings)"
      rm -rf "$out/run"
    done
  done
done
