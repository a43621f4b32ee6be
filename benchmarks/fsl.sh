#!/usr/bin/env bash
# FSL / GFSL (k = 1, 5, 10 shots per unseen class) on TEP groups A-E and the synthetic benchmark.
# Usage: bash benchmarks/fsl.sh   (writes benchmarks/results/fsl_*.md and .jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p benchmarks/results
for k in 1 5 10; do
  for cfg in attribute-regression/tep dap/tep clswgan/tep; do
    name=$(echo "$cfg" | tr / _)
    python benchmarks/tep_groups.py --config "$cfg" --seeds 0,1,2 --set data.params.shots=$k \
      --out "benchmarks/results/fsl_${name}_k${k}.jsonl" > "benchmarks/results/fsl_${name}_k${k}.md"
  done
  for cfg in attribute-regression/synthetic clswgan/synthetic; do
    name=$(echo "$cfg" | tr / _)
    anyshot train --config "$cfg" --seeds 0,1,2 --device cpu --set data.params.shots=$k \
      > "benchmarks/results/fsl_${name}_k${k}.md"
  done
done
