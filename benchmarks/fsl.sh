#!/usr/bin/env bash
# FSL / GFSL with k = 1, 5 and 10 real shots per novel class, honest protocol, seeds 0,1,2, one
# thread. Writes benchmarks/results/fsl_<method>_<dataset>_k<k>.jsonl (one JSON line per run).
# Usage: bash benchmarks/fsl.sh tep|synthetic METHOD...
#   bash benchmarks/fsl.sh tep attribute-regression dap factorised-gaussian
#   bash benchmarks/fsl.sh synthetic attribute-regression factorised-gaussian clswgan
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
dataset=${1:?"usage: bash benchmarks/fsl.sh tep|synthetic METHOD..."}
shift
for m in "$@"; do
  for k in 1 5 10; do
    out="benchmarks/results/fsl_${m}_${dataset}_k${k}.jsonl"
    rm -f "$out"
    if [ "$dataset" = tep ]; then
      python benchmarks/tep_groups.py --config "$m/tep" --seeds 0,1,2 \
        --set data.params.shots=$k --out "$out"
    else
      run="runs/fsl_${m}_${dataset}_k${k}"
      rm -rf "$run"
      anyshot train --config "$m/$dataset" --seeds 0,1,2 --device cpu \
        --set data.params.shots=$k --out "$run"
      cp "$run/results.jsonl" "$out"
    fi
  done
done
