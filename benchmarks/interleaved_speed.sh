#!/usr/bin/env bash
# Images per second of experiment=rps_best variants, side by side: ROUNDS rounds, each running every variant
# for SECONDS_EACH seconds in turn (a slow spell of the machine then hits all of them alike), on a quiet
# machine. Prints one line per run, the median of the rates logged after the first 30 seconds, then each
# variant's median over the rounds and its ratio to the first variant's.
#
#   ROUNDS=3 SECONDS_EACH=90 bash benchmarks/interleaved_speed.sh "paths.data_dir=data" \
#       "today=" "no-stem=model.discriminator.stem_width=0"
#
# The first argument is given to every run; each further one is NAME=OVERRIDES (space-separated overrides).
set -euo pipefail
rounds=${ROUNDS:-1} seconds=${SECONDS_EACH:-90}
common=$1
shift
out=$(mktemp -d)
for round in $(seq "$rounds"); do
  for variant in "$@"; do
    name=${variant%%=*} overrides=${variant#*=}
    log="$out/$name-$round.log"
    # shellcheck disable=SC2086  # the overrides are words
    python train.py experiment=rps_best trainer.max_time=00:00:00:$seconds \
        hydra.run.dir="$out/run" console.progress=log console.interval_s=10 print_config=false \
        callbacks.generation_metrics.every_n_val=1000 $common $overrides > "$log" 2>&1
    rates=$(grep -o '[0-9]* img/s' "$log" | awk '{print $1}' | tail -n +4 | sort -n)
    median=$(echo "$rates" | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "none")}')
    echo "$name round $round: $median img/s (median of $(echo "$rates" | wc -l) readings)"
    echo "$name $median" >> "$out/medians"
    rm -rf "$out/run"
  done
done
# each variant's median over its rounds, and its ratio to the first variant's
python - "$out/medians" <<'PY'
import statistics, sys
rates = {}
for line in open(sys.argv[1]):
    name, rate = line.split()
    if rate != "none":
        rates.setdefault(name, []).append(float(rate))
first = None
for name, values in rates.items():
    median = statistics.median(values)
    first = first or (name, median)
    print(f"{name}: {median:g} img/s over {len(values)} rounds, {median / first[1]:.2f}x {first[0]}")
PY
