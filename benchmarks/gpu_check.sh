#!/usr/bin/env bash
# Everything that needs a GPU, in one run that writes one results folder (about 5 minutes on
# an H200; each part has its own time limit, and a part that fails is recorded and skipped):
#
#   env.txt          torch / CUDA / GPU versions, nvidia-smi
#   flo.md           benchmarks/perf.py flo on CUDA: s/epoch, eval s and peak GPU memory at the
#                    FLO shape, SRWGAN (fp32, bf16) and f-CLSWGAN, against the per-class loop,
#                    and both with CUDA graphs (cuda_graphs: true)
#   graphs_tests     tests/unit/test_step_graphs.py on CUDA: captured steps replay, train, repeat
#   roofline.md      benchmarks/perf.py roofline on CUDA: share of the step that is matrix products
#   step_ops_*.json  ops dispatched and host syncs per training step, CPU and CUDA
#   tep.jsonl        one TEP run (srwgan/tep, group A, seed 0) on CUDA, if the TEP files are
#                    found (TEP_ROOT, default ../shared/data/tep)
#   log.txt          everything the parts printed
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]      (from the repository root)
set -uo pipefail
OUT=${1:-benchmarks/results/gpu_check_$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$(pwd)/src"
LOG="$OUT/log.txt"

part() {  # part NAME SECONDS COMMAND...: run with a time limit, record its status
    local name=$1 limit=$2
    shift 2
    local t0=$SECONDS
    echo "== $name: $*" | tee -a "$LOG"
    timeout "$limit" "$@" >>"$LOG" 2>&1
    local rc=$?
    echo "== $name: exit $rc after $((SECONDS - t0)) s" | tee -a "$LOG"
    echo "$name $rc $((SECONDS - t0))" >>"$OUT/status.txt"
}

{
    date -u
    git rev-parse --short=12 HEAD 2>/dev/null
    python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')"
    nvidia-smi 2>/dev/null
} >"$OUT/env.txt" 2>&1

part flo 200 python benchmarks/perf.py flo --device cuda --bf16 --graphs --repeat 1 \
    --out "$OUT/flo.md"
part graphs_tests 90 python -m pytest -q tests/unit/test_step_graphs.py
part roofline 60 python benchmarks/perf.py roofline --device cuda --bf16 --out "$OUT/roofline.md"
part step_ops_cuda 45 python benchmarks/step_ops.py --device cuda --json "$OUT/step_ops_cuda.json"
part step_ops_cpu 60 python benchmarks/step_ops.py --device cpu --json "$OUT/step_ops_cpu.json"
TEP_ROOT=${TEP_ROOT:-../shared/data/tep}
if [ -d "$TEP_ROOT" ]; then
    part tep 60 python benchmarks/tep_groups.py --config srwgan/tep --seeds 0 --groups A \
        --set device=cuda --set "data.params.root=$TEP_ROOT" --out "$OUT/tep.jsonl"
else
    echo "tep skipped: no TEP files at $TEP_ROOT (set TEP_ROOT)" | tee -a "$LOG" "$OUT/status.txt"
fi
echo "results in $OUT"; cat "$OUT/status.txt"
