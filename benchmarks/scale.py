"""Out-of-core and distributed training costs: time and peak memory against data size, throughput per process count.

Every measured step runs in a fresh subprocess whose resident memory is sampled (the whole process tree)
and whose kernel high-water mark is read when it exits, so one scale's leftovers never inflate the next.

Usage::

    python benchmarks/scale.py curve --scales 0.25 1 2.5 10 --work /big/disk/scale-bench
    python benchmarks/scale.py ddp --scale 0.25 --work /big/disk/scale-bench --procs 1 2

``curve`` synthesises parquet-sharded data at each scale (``reelrec synth --format parquet``), then trains
one epoch of the default model out of core (``reelrec train --stream --protocol none``) and prints rows,
time and peak RSS per step. ``ddp`` trains the same data with ``torchrun`` at 1 and 2 processes and prints
training throughput. Data folders are deleted after each scale unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]


def _env(threads: int | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def measured(cmd: list[str], log: Path, env: dict[str, str] | None = None, interval: float = 0.2) -> dict[str, Any]:
    """Run ``cmd``; wall time, peak RSS of the process tree (sampled), and the largest child's kernel peak."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env or _env(), cwd=ROOT)
        peak = [0]
        curve: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample() -> None:
            root = psutil.Process(proc.pid)
            while not stop.wait(interval):
                try:
                    procs = [root, *root.children(recursive=True)]
                    rss = sum(p.memory_info().rss for p in procs)
                except psutil.Error:
                    continue
                peak[0] = max(peak[0], rss)
                curve.append((round(time.perf_counter() - started, 2), round(rss / 2**20, 1)))

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        code = proc.wait()
        stop.set()
        thread.join()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux, max over waited children
    if code != 0:
        tail = "\n".join(log.read_text().splitlines()[-20:])
        raise RuntimeError(f"{' '.join(cmd)} failed with status {code}:\n{tail}")
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(max(peak[0] / 2**20, (after if after > before else 0) / 1024), 1),
        "curve": curve[:: max(1, len(curve) // 200)],
    }


def _train_json(log: Path) -> dict[str, Any]:
    text = log.read_text()
    start = text.find("{")
    return json.loads(text[start:]) if start >= 0 else {}


def _history(artifact: Path) -> list[dict[str, Any]]:
    path = artifact / "metrics.json"
    return json.loads(path.read_text()).get("history", []) if path.exists() else []


def run_curve(args: argparse.Namespace) -> list[dict[str, Any]]:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for scale in args.scales:
        data, art = work / f"kuairec-{scale:g}", work / f"art-{scale:g}"
        cache = work / f"cache-{scale:g}"
        env = _env()
        env["REELREC_CACHE_DIR"] = str(cache)
        print(f"scale {scale:g}: synthesising parquet shards ...", flush=True)
        if not (data / "big_matrix").is_dir():
            synth = measured(
                [sys.executable, "-m", "reelrec", "synth", str(data), "--scale", str(scale), "--format", "parquet"],
                work / f"synth-{scale:g}.log",
                env,
            )
        else:
            synth = {"seconds": None, "peak_rss_mib": None}
        print(f"scale {scale:g}: training {args.epochs} epoch(s) out of core ...", flush=True)
        cmd = [
            sys.executable, "-m", "reelrec", "train", str(data), "--out", str(art), "--stream", "--protocol", "none",
            "--json", "--set", f"training.epochs={args.epochs}", "--set", "params.refit=false",
        ]
        if args.time_budget is not None:
            cmd += ["--set", f"training.time_budget_s={args.time_budget}"]
        train = measured(cmd, work / f"train-{scale:g}.log", env)
        result = _train_json(work / f"train-{scale:g}.log")
        history = _history(art)
        rows = sum(h.get("rows", 0) for h in history)
        train_s = sum(h.get("train_seconds", h.get("seconds", 0.0)) for h in history)
        row = {
            "scale": scale,
            "views": result.get("views"),
            "pairs": result.get("pairs"),
            "rows_trained": rows,
            # A time budget may end the epoch early; rows_trained then falls short of the training pairs.
            "epoch_complete": args.time_budget is None or train_s < args.time_budget,
            "synth_s": synth["seconds"],
            "synth_peak_mib": synth["peak_rss_mib"],
            "train_total_s": train["seconds"],
            "prepare_s": result.get("prepare_seconds"),
            "fit_s": round(result.get("fit_seconds", 0.0), 1),
            "epoch_train_s": round(train_s, 1),
            "rows_per_s": round(rows / train_s) if train_s else None,
            "peak_rss_mib": train["peak_rss_mib"],
            "rss_curve": train["curve"],
        }
        results.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "rss_curve"}), flush=True)
        shutil.rmtree(art, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
            shutil.rmtree(cache, ignore_errors=True)
    return results


def run_ddp(args: argparse.Namespace) -> list[dict[str, Any]]:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"kuairec-{args.scale:g}"
    env = _env()
    env["REELREC_CACHE_DIR"] = str(work / f"cache-{args.scale:g}")
    if not (data / "big_matrix").is_dir():
        print(f"synthesising scale {args.scale:g} ...", flush=True)
        measured(
            [sys.executable, "-m", "reelrec", "synth", str(data), "--scale", str(args.scale), "--format", "parquet"],
            work / "synth-ddp.log",
            env,
        )
    torchrun = str(Path(sys.executable).with_name("torchrun"))
    cores = os.cpu_count() or 1
    results = []
    for n in args.procs:
        art = work / f"art-ddp-{n}"
        # The same cores either way: one process with all threads, or n processes sharing them.
        env["OMP_NUM_THREADS"] = str(args.threads or max(1, cores // n))
        cmd = [
            torchrun, "--standalone", f"--nproc_per_node={n}", "-m", "reelrec", "train", str(data), "--out", str(art),
            "--stream", "--protocol", "none", "--json", "--set", f"training.epochs={args.epochs}",
            "--set", "params.refit=false",
        ]
        if args.time_budget is not None:
            cmd += ["--set", f"training.time_budget_s={args.time_budget}"]
        print(f"{n} process(es) ...", flush=True)
        run = measured(cmd, work / f"ddp-{n}.log", env)
        history = _history(art)
        rows = sum(h.get("rows", 0) for h in history)
        train_s = sum(h.get("train_seconds", h.get("seconds", 0.0)) for h in history)
        row = {
            "processes": n,
            "threads_each": env["OMP_NUM_THREADS"],
            "rows": rows,
            "train_s": round(train_s, 1),
            "rows_per_s": round(rows / train_s) if train_s else None,
            "total_s": run["seconds"],
            "peak_rss_mib": run["peak_rss_mib"],
        }
        results.append(row)
        print(json.dumps(row), flush=True)
        shutil.rmtree(art, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)
    return results


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---:" for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join("" if row.get(c) is None else f"{row[c]:,}" if isinstance(row[c], int)
                                       else str(row[c]) for c in columns) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    curve = sub.add_parser("curve", help="time and peak RSS against data size")
    curve.add_argument("--scales", type=float, nargs="+", default=[0.25, 1.0, 2.5, 10.0])
    ddp = sub.add_parser("ddp", help="throughput with 1 and 2 processes")
    ddp.add_argument("--scale", type=float, default=0.25)
    ddp.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    ddp.add_argument("--threads", type=int, default=None, help="threads per process (default: cores / processes)")
    for p in (curve, ddp):
        p.add_argument("--work", required=True, help="working folder (needs ~25 GB free for scale 10)")
        p.add_argument("--epochs", type=int, default=1)
        p.add_argument("--keep", action="store_true", help="keep the synthetic data")
        p.add_argument("--out", help="also write the results as JSON here")
        p.add_argument("--time-budget", type=float, default=None,
                       help="stop training after this many seconds (the per-row rate is still measured)")
    args = parser.parse_args()
    if args.command == "curve":
        rows = run_curve(args)
        cols = ["scale", "views", "pairs", "rows_trained", "synth_s", "prepare_s", "epoch_train_s", "train_total_s",
                "rows_per_s", "peak_rss_mib"]
    else:
        rows = run_ddp(args)
        cols = ["processes", "threads_each", "rows", "train_s", "rows_per_s", "total_s", "peak_rss_mib"]
    print()
    print(_table(rows, cols))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
