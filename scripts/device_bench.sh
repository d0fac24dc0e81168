#!/usr/bin/env bash
# The GPU benchmark of docs/gpu.md in one command, for a machine without internet (the project's
# `device` tool) or any GPU host: builds PRESET with random weights for python-torch on GPUS,
# benchmarks it with resizing on the CPU then on the GPU, and packs reports and logs into
# $OUT/gpu-bench.tar.gz (one file: the tool returns at most 8).
#
#   PRESET=large DEVICE=cuda GPUS=0 OUT=/tmp/out scripts/device_bench.sh
#   PRESET=tiny DEVICE=cpu GPUS= OUT=/tmp/out scripts/device_bench.sh     # the same flow on a CPU
#
# Wheels in .whl*/ folders (carried; see docs/gpu.md) are installed into /tmp/site first.
set -uo pipefail
PRESET=${PRESET:-large}
DEVICE=${DEVICE:-cuda}
GPUS=${GPUS-0}
OUT=${OUT:-runs/device-bench}
PY=${PYTHON:-python3}
WORK=$(mktemp -d)
REPO=${REPO:-$WORK/repo}
export PYTHONUNBUFFERED=1

shopt -s nullglob
wheels=(.whl*/*.whl)
if ((${#wheels[@]})); then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "${wheels[@]}" || exit 1
    export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
    export PATH=/tmp/site/bin:$PATH
fi
st() { "$PY" -m stashtag.cli "$@"; }
bench_args=(--preset "$PRESET" --device "$DEVICE" --sprites "${SPRITES:-8}" --repeats "${REPEATS:-2}"
    --sweep "${SWEEP:-1,4,8}" --frame-requests "${FRAME_REQUESTS:-81}" --clients 4
    --client-concurrency 4 --client-loops 2 --null-loops 3)

mkdir -p "$OUT" "$WORK/reports"
{
    date -u
    nvidia-smi || echo "no nvidia-smi"
    "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
} > "$WORK/reports/machine.txt" 2>&1
status=0
run() {  # name, command…: log each step, keep going so the logs come back
    local name=$1
    shift
    echo "== $name: $*"
    local t0=$SECONDS
    "$@" > "$WORK/reports/$name.log" 2>&1
    local rc=$?
    echo "   rc $rc in $((SECONDS - t0)) s"
    tail -5 "$WORK/reports/$name.log"
    ((rc == 0)) || status=1
    return $rc
}
run build st repo build --preset "$PRESET" --random-weights --target python-torch \
    ${GPUS:+--gpus "$GPUS"} --host-resize --repo "$REPO" &&
    run bench-host-resize st bench --repo "$REPO" "${bench_args[@]}" \
        --out "$WORK/reports/host-resize"
run rebuild st repo build --preset "$PRESET" --target python-torch --device-resize \
    --no-export --repo "$REPO" &&
    run bench-device-resize st bench --repo "$REPO" "${bench_args[@]}" \
        --out "$WORK/reports/device-resize"
tar -czf "$OUT/gpu-bench.tar.gz" -C "$WORK" reports
echo "wrote $OUT/gpu-bench.tar.gz"
exit $status
