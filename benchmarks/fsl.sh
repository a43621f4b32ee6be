#!/usr/bin/env bash
# FSL / GFSL (k = 1, 5, 10 shots per unseen class) on TEP groups A-E and the synthetic benchmark,
# honest protocol, seeds 0,1,2. Writes benchmarks/results/fsl_*.md (tables) and .jsonl (per run).
# Usage: bash benchmarks/fsl.sh [methods...]   (default: attribute-regression dap clswgan)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p benchmarks/results
methods=("${@:-attribute-regression dap clswgan}")
for m in ${methods[@]}; do
  for k in 1 5 10; do
    if [ -f "src/anyshot/configs/$m/synthetic.yaml" ]; then
      anyshot train --config "$m/synthetic" --seeds 0,1,2 --device cpu --set data.params.shots=$k \
        > "benchmarks/results/fsl_${m}_synthetic_k${k}.md"
    fi
    python benchmarks/tep_groups.py --config "$m/tep" --seeds 0,1,2 --set data.params.shots=$k \
      --out "benchmarks/results/fsl_${m}_tep_k${k}.jsonl" > "benchmarks/results/fsl_${m}_tep_k${k}.md"
  done
done
