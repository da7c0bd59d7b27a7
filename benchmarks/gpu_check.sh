#!/usr/bin/env bash
# GPU check: set up the environment, synthesise KuaiRec-shaped data, train the seed preset and the default
# model on CUDA and on 2 CPU threads, and print throughput (interactions/s), epoch time, test metrics and
# the GPU/CPU throughput ratio. Without CUDA the GPU runs are skipped and the CPU runs still happen.
#
# Usage:  benchmarks/gpu_check.sh [WORK_DIR]          (WORK_DIR: data, artifacts, logs; default: a temp dir)
#
# Environment (all optional):
#   PYTHON                       interpreter (default: .venv/bin/python when present, else python3)
#   REELREC_GPU_CHECK_SCALE      synthetic data scale (default 1.0 = full KuaiRec size, ~12.5M views)
#   REELREC_GPU_CHECK_EPOCHS     epoch cap for the default model on the GPU (default 20; early stopping
#                                usually ends sooner)
#   REELREC_GPU_CHECK_CPU_S      seconds of CPU training per model for the CPU throughput (default 45)
#   REELREC_GPU_CHECK_KEEP=1     keep WORK_DIR when it was a temp dir
#
# reelrec runs from src/ (PYTHONPATH=src): nothing is installed into the interpreter. Wheels of missing
# packages (e.g. polars) can be placed in .whl/ at the repository root; they are unpacked into a temporary
# folder put on PYTHONPATH. Exit status: 0 when every run finished, 3 when a required package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SCALE=${REELREC_GPU_CHECK_SCALE:-1.0}
EPOCHS=${REELREC_GPU_CHECK_EPOCHS:-20}
CPU_S=${REELREC_GPU_CHECK_CPU_S:-45}
if [ -n "${PYTHON:-}" ]; then
    PY=$PYTHON
elif [ -x .venv/bin/python ]; then
    PY=.venv/bin/python
else
    PY=python3
fi

if [ $# -ge 1 ]; then
    WORK=$1
    mkdir -p "$WORK"
    TEMP_WORK=0
else
    WORK=$(mktemp -d -t reelrec-gpu-check.XXXXXX)
    TEMP_WORK=1
fi
WORK=$(cd "$WORK" && pwd)
cleanup() {
    if [ "$TEMP_WORK" = 1 ] && [ "${REELREC_GPU_CHECK_KEEP:-0}" != 1 ]; then
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

log() { printf '[gpu-check %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# ------------------------------------------------------------------------------------------------ env
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
# Never pick up a data cache from elsewhere, and keep this run's cache inside WORK.
export REELREC_CACHE_DIR="$WORK/cache"

if compgen -G ".whl/*.whl" >/dev/null; then
    SITE="$WORK/site"
    mkdir -p "$SITE"
    log "unpacking $(ls .whl/*.whl | wc -l) wheel(s) from .whl/ into $SITE"
    # A wheel is a zip laid out for site-packages; unpacking it needs neither pip nor network access.
    "$PY" - "$SITE" .whl/*.whl <<'EOF'
import sys
import zipfile

target = sys.argv[1]
for wheel in sys.argv[2:]:
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    print(f"  unpacked {wheel}")
EOF
    export PYTHONPATH="$SITE:$PYTHONPATH"
fi

"$PY" - <<'EOF'
import importlib.util
import sys

required = ["numpy", "scipy", "polars", "pyarrow", "pydantic", "typer", "rich", "safetensors", "torch"]
missing = [name for name in required if importlib.util.find_spec(name) is None]
if missing:
    print(f"error: missing Python packages: {', '.join(missing)}.")
    if "polars" in missing:
        print("reelrec reads and writes its tables with polars, so nothing can run without it.")
    print(
        "Put wheels for this interpreter (Python %d.%d) into .whl/ at the repository root, e.g. on a machine "
        "with network access:\n  pip download --only-binary=:all: --python-version %d.%d "
        "--platform manylinux2014_x86_64 -d .whl %s" % (*sys.version_info[:2], *sys.version_info[:2], " ".join(missing))
    )
    sys.exit(3)
EOF

HAS_CUDA=$("$PY" -c "import torch; print(int(torch.cuda.is_available()))")
"$PY" - <<'EOF'
import os
import platform

import torch

print(f"python {platform.python_version()}, torch {torch.__version__}, {os.cpu_count()} CPU cores")
if torch.cuda.is_available():
    props = torch.cuda.get_device_properties(0)
    print(f"CUDA device: {props.name}, {props.total_memory / 2**30:.0f} GiB, bf16={torch.cuda.is_bf16_supported()}")
else:
    print("no CUDA device: the GPU runs are skipped, the CPU runs still happen")
EOF

# ------------------------------------------------------------------------------------------------ data
DATA="$WORK/data"
if [ ! -f "$DATA/.complete-$SCALE" ]; then
    log "synthesising KuaiRec-shaped data at scale $SCALE into $DATA"
    rm -rf "$DATA"
    start=$(date +%s)
    "$PY" -c "import sys; from reelrec.synth import write_kuairec; write_kuairec(sys.argv[1], scale=float(sys.argv[2]), seed=0)" \
        "$DATA" "$SCALE" >"$WORK/synth.log" 2>&1 || { cat "$WORK/synth.log"; exit 1; }
    touch "$DATA/.complete-$SCALE"
    log "data ready in $(( $(date +%s) - start )) s"
fi

# ------------------------------------------------------------------------------------------------ runs
mkdir -p "$WORK/results"
# run NAME DEVICE MODEL [extra reelrec-train options...]: one training run, its JSON kept in results/.
run() {
    local name=$1 device=$2 model=$3
    shift 3
    local art="$WORK/art-$name"
    local prefix=()
    if [ "$device" = cpu ]; then
        # The CPU baseline is a 2-core machine: two threads, pinned to two cores when taskset exists.
        export OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
        if command -v taskset >/dev/null 2>&1; then prefix=(taskset -c 0,1); fi
    else
        unset OMP_NUM_THREADS MKL_NUM_THREADS
    fi
    log "train $model on $device ($name)"
    local start
    start=$(date +%s)
    if ${prefix[@]+"${prefix[@]}"} "$PY" -m reelrec train "$DATA" --out "$art" --model "$model" --device "$device" \
        --json "$@" >"$WORK/results/$name.json" 2>"$WORK/results/$name.log"; then
        cp "$art/metrics.json" "$WORK/results/$name.metrics.json" 2>/dev/null || true
        log "  done in $(( $(date +%s) - start )) s"
    else
        log "  FAILED (log: $WORK/results/$name.log)"
        tail -n 20 "$WORK/results/$name.log"
        echo '{"failed": true}' >"$WORK/results/$name.json"
    fi
    rm -rf "$art"
}

# Load once so that the parquet cache exists before the timed runs.
"$PY" -m reelrec data check "$DATA" >/dev/null 2>&1 || true

if [ "$HAS_CUDA" = 1 ]; then
    run seed-cuda cuda seed
    run two-tower-cuda cuda two-tower --set "training.epochs=$EPOCHS"
fi
# CPU: throughput from a time-budgeted run on 2 threads (a full CPU epoch of 10M rows would take long).
run seed-cpu cpu seed --protocol none --set "training.time_budget_s=$CPU_S"
run two-tower-cpu cpu two-tower --protocol none --set "training.time_budget_s=$CPU_S"

# ------------------------------------------------------------------------------------------------ report
"$PY" - "$WORK/results" "$SCALE" <<'EOF'
import json
import statistics
import sys
from pathlib import Path

folder, scale = Path(sys.argv[1]), sys.argv[2]


def load(name):
    result = json.loads((folder / f"{name}.json").read_text() or "{}") if (folder / f"{name}.json").exists() else {}
    path = folder / f"{name}.metrics.json"
    history = json.loads(path.read_text()).get("history", []) if path.exists() else []
    return result, history


def throughput(history):
    """Median training rows/s over epochs (the first epoch also pays for warm-up, so it is left out when possible)."""
    epochs = [h for h in history if h.get("rows")]
    if len(epochs) > 1:
        epochs = epochs[1:]
    rates = [h["rows"] / max(h.get("train_seconds", h["seconds"]), 1e-9) for h in epochs]
    return statistics.median(rates) if rates else None


rows = []
full_rows = {}
for model in ("seed", "two-tower"):
    for device in ("cuda", "cpu"):
        result, history = load(f"{model}-{device}")
        if not result:
            continue
        if result.get("failed"):
            rows.append((model, device, None, None, None, {}, "failed"))
            continue
        rate = throughput(history)
        epochs = [h for h in history if h.get("rows")]
        epoch_s = statistics.median(h["seconds"] for h in epochs) if epochs else None
        if device == "cuda" and epochs:
            full_rows[model] = epochs[0]["rows"]
        if device == "cpu":
            # Time-budgeted: the epoch was cut short; a full epoch's rows (from the GPU run) over the rate.
            epoch_s = full_rows[model] / rate if rate and model in full_rows else None
        rows.append((model, device, rate, epoch_s, len(epochs), result.get("metrics", {}), ""))

print()
print(f"reelrec GPU check, synthetic KuaiRec scale {scale}")
header = f"{'model':<10} {'device':<6} {'rows/s':>12} {'epoch s':>9} {'epochs':>6}  test metrics (kuairec protocol)"
print(header)
print("-" * len(header))
for model, device, rate, epoch_s, n, metrics, note in rows:
    shown = {k: metrics[k] for k in ("ndcg@10", "truth_graded_ndcg@10", "rmse", "mae") if k in metrics}
    text = "  ".join(f"{k} {v:.4f}" for k, v in shown.items()) or ("n/a (time-budgeted CPU run)" if device == "cpu" else "")
    rate_s = f"{rate:,.0f}" if rate else "-"
    epoch_t = f"{epoch_s:.1f}" if epoch_s else "-"
    print(f"{model:<10} {device:<6} {rate_s:>12} {epoch_t:>9} {n or '-':>6}  {note or text}")
print()
for model in ("seed", "two-tower"):
    by = {device: rate for m, device, rate, *_ in rows if m == model}
    if by.get("cuda") and by.get("cpu"):
        verdict = "meets" if by["cuda"] >= 50 * by["cpu"] else "misses"
        goal = f" ({verdict} the 50x goal)" if model == "two-tower" else ""
        print(f"{model}: GPU / 2-thread CPU throughput = {by['cuda'] / by['cpu']:.1f}x{goal}")
if not any(device == "cuda" for _, device, *_ in rows):
    print("GPU part skipped (no CUDA device); CPU figures above are the baseline.")
EOF
