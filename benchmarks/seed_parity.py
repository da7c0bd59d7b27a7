"""The ``seed`` preset beside the notebook it reproduces: same data, same split rows, same thread count.

Usage::

    make seed-venv                                   # once: the notebook's TensorFlow environment
    python benchmarks/seed_parity.py --scale 0.25    # and --scale 1.0
    python benchmarks/seed_parity.py --dry-run       # the preset's side only, tiny data, no TensorFlow
    python benchmarks/seed_parity.py --report runs/seed-parity/results-s0.25.json   # tables of saved runs

For each seed (default 0 1 2) it runs ``benchmarks/seed_notebook.py`` (pandas, Keras, its
``train_test_split`` of the big matrix's rows; in ``.venv-seed``), then the preset on the rows that
run wrote, alternating notebook, preset, notebook, preset, ... each in a fresh process with the same
number of threads. It prints one row per run and a side-by-side summary: RMSE and MAE in watch-ratio
units on the test rows, NDCG@10 on the small block, training seconds (wall and CPU), peak RSS of the
whole process (loading included), and one verdict line per target:

- RMSE and MAE: the preset's mean over the seeds differs from the notebook's by no more than the
  notebook's own seed-to-seed spread (max - min over the seeds);
- time: the preset's median training wall time is at most 1.05 x the notebook's.

The data is a ``reelrec synth`` folder at ``--scale`` (made under ``--work`` when missing) or ``--data``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "benchmarks" / "seed_notebook.py"
TIME_TARGET = 1.05


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=None, help="synthetic KuaiRec scale: 1.0 = KuaiRec's size; "
                    "default 0.25 (0.01 with --dry-run)")  # fmt: skip
    ap.add_argument("--data", type=Path, default=None, help="a KuaiRec folder to use instead of synthesising one")
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "seed-parity", help="data, splits and results")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one notebook and one preset run each")
    ap.add_argument("--threads", type=int, default=1, help="TensorFlow and torch threads (the same for both)")
    ap.add_argument("--notebook-python", type=Path, default=REPO / ".venv-seed" / "bin" / "python")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--report", type=Path, default=None, help="print the tables of a saved results-*.json and stop")
    ap.add_argument("--dry-run", action="store_true", help="tiny data, preset only, a numpy split: checks the plumbing")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)  # a notebook output folder
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


# ------------------------------------------------------------------------------------ the preset's side
def run_preset(data: Path, rows_dir: Path, seed: int, threads: int, epochs: int, cache_dir: Path) -> dict:
    """Fit the preset on the notebook's training rows; score its test rows and the small block."""
    import torch

    from reelrec.data import load_kuairec
    from reelrec.eval import evaluate, kuairec_split
    from reelrec.models._seed import SeedTwoTower

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    ds = load_kuairec(data, cache_dir=cache_dir)
    train_rows, test_rows = np.load(rows_dir / "train_rows.npy"), np.load(rows_dir / "test_rows.npy")
    inter = ds.interactions
    if len(train_rows) + len(test_rows) != len(inter):
        raise SystemExit(f"{rows_dir}: the split covers {len(train_rows) + len(test_rows)} rows, the data {len(inter)}")
    split = kuairec_split(ds.with_interactions(inter.take(train_rows)))
    load_seconds = time.perf_counter() - t0
    model = SeedTwoTower(seed=seed, epochs=epochs, progress=False)
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(split.train)
    train_seconds, train_cpu = time.perf_counter() - wall, time.process_time() - cpu
    pred = model.predict_indices(inter.user[test_rows], inter.item[test_rows]).astype(np.float64)
    err = pred - np.clip(inter.label[test_rows], 0.0, 5.0)
    result = evaluate(model, split, ks=(10,))
    return {
        "who": "preset",
        "seed": seed,
        "threads": torch.get_num_threads(),
        "rows": len(inter),
        "train_rows": len(train_rows),
        "test_rows": len(test_rows),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "ndcg@10": float(result.metrics["ndcg@10"]),
        "ndcg_users": int(result.n_scored),
        "train_seconds": train_seconds,
        "train_cpu_seconds": train_cpu,
        "load_seconds": load_seconds,
        "loss": [float(h["train_loss"]) for h in model.history_],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux: KiB
        "torch": torch.__version__,
    }


def numpy_split(n_rows: int, seed: int, out: Path) -> None:
    """A seeded 80/20 row split (the dry run's stand-in for the notebook's ``train_test_split``)."""
    perm = np.random.default_rng(seed).permutation(n_rows)
    n_test = int(np.ceil(0.2 * n_rows))
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "train_rows.npy", np.sort(perm[n_test:]))
    np.save(out / "test_rows.npy", np.sort(perm[:n_test]))


# ----------------------------------------------------------------------------------------- the driver
def ensure_data(args: argparse.Namespace) -> Path:
    if args.data is not None:
        if not (args.data / "big_matrix.csv").exists():
            raise SystemExit(f"--data {args.data}: no big_matrix.csv in that folder")
        return args.data
    folder = args.work / f"data-s{args.scale:g}"
    if not (folder / "big_matrix.csv").exists():
        from reelrec.synth import write_kuairec

        print(f"# writing synthetic KuaiRec at scale {args.scale:g} to {folder}", flush=True)
        write_kuairec(folder, scale=args.scale, seed=0)
    return folder


def child(cmd: list[str], threads: int) -> dict:
    """Run one side in a fresh process; its last stdout line is its JSON result."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONPATH=str(REPO / "src"))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:2])} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def preset_cmd(data: Path, rows: Path, seed: int, args: argparse.Namespace) -> list[str]:
    return [sys.executable, __file__, "--child", str(rows), "--data", str(data), "--seed", str(seed),
            "--threads", str(args.threads), "--epochs", str(args.epochs), "--work", str(args.work)]  # fmt: skip


def save_runs(runs: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(runs, indent=2))
    os.replace(tmp, path)


def spread(values: list[float]) -> float:
    return max(values) - min(values)


def summarise(runs: list[dict]) -> list[str]:
    """The side-by-side table and one verdict line per target, as markdown lines."""
    nb = [r for r in runs if r["who"] == "notebook"]
    pr = [r for r in runs if r["who"] == "preset"]
    lines = ["| | notebook (Keras) | preset (reelrec) | preset / notebook |", "|---|---:|---:|---:|"]
    for key, label in (("rmse", "RMSE, watch ratio"), ("mae", "MAE, watch ratio"), ("ndcg@10", "NDCG@10, small block")):
        a, b = [r[key] for r in nb], [r[key] for r in pr]
        lines.append(
            f"| {label} (mean; min-max) | {statistics.mean(a):.4f}; {min(a):.4f}-{max(a):.4f} "
            f"| {statistics.mean(b):.4f}; {min(b):.4f}-{max(b):.4f} | ×{statistics.mean(b) / statistics.mean(a):.3f} |"
        )
    medians = (
        ("train_seconds", "training s, wall (median)"),
        ("train_cpu_seconds", "training s, CPU (median)"),
        ("peak_rss_mb", "peak RSS MiB (median)"),
    )
    for key, label in medians:
        # A run recovered from a log may lack a field (peak RSS): the median is over the runs that have it.
        a = statistics.median(r[key] for r in nb if r.get(key) is not None)
        b = statistics.median(r[key] for r in pr if r.get(key) is not None)
        lines.append(f"| {label} | {a:.1f} | {b:.1f} | ×{b / a:.3f} |")
    lines.append("")
    for key in ("rmse", "mae"):
        a, b = [r[key] for r in nb], [r[key] for r in pr]
        diff, allowed = abs(statistics.mean(b) - statistics.mean(a)), spread(a)
        verdict = "met" if diff <= allowed else "NOT met"
        lines.append(
            f"verdict {key.upper()}: |preset - notebook| = {diff:.4f} vs the notebook's seed-to-seed spread "
            f"{allowed:.4f} over {len(a)} seeds: {verdict}"
        )
    a, b = statistics.median(r["train_seconds"] for r in nb), statistics.median(r["train_seconds"] for r in pr)
    verdict = "met" if b <= TIME_TARGET * a else "NOT met"
    lines.append(
        f"verdict time: preset {b:.1f} s vs notebook {a:.1f} s, ×{b / a:.3f} (target ≤ ×{TIME_TARGET}): {verdict}"
    )
    return lines


def print_runs(runs: list[dict]) -> None:
    cols = ["who", "seed", "rmse", "mae", "ndcg@10", "train_seconds", "train_cpu_seconds", "peak_rss_mb", "load"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "|".join("---" for _ in cols) + "|")
    for r in runs:
        rss = r.get("peak_rss_mb") or float("nan")
        cells = [r["who"], r["seed"], f"{r['rmse']:.4f}", f"{r['mae']:.4f}", f"{r['ndcg@10']:.4f}",
                 f"{r['train_seconds']:.1f}", f"{r['train_cpu_seconds']:.1f}", f"{rss:.0f}",
                 f"{r.get('load_avg', float('nan')):.1f}"]  # fmt: skip
        print("| " + " | ".join(str(c) for c in cells) + " |")


def dry_run(args: argparse.Namespace) -> list[dict]:
    """The preset's side on tiny synthetic data with a numpy split: no TensorFlow needed."""
    data = ensure_data(args)
    from reelrec.data import load_kuairec

    n_rows = len(load_kuairec(data, cache_dir=args.work / "cache").interactions)
    runs = []
    for seed in args.seeds:
        rows = args.work / f"dry-s{args.scale:g}" / f"seed{seed}"
        numpy_split(n_rows, seed, rows)
        runs.append(run_preset(data, rows, seed, args.threads, args.epochs, args.work / "cache"))
    return runs


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    if args.scale is None:
        args.scale = 0.01 if args.dry_run else 0.25
    if args.report is not None:
        runs = json.loads(args.report.read_text())
        print_runs(runs)
        print()
        print("\n".join(summarise(runs)))
        return runs
    if args.child is not None:
        print(json.dumps(run_preset(args.data, args.child, args.seed, args.threads, args.epochs, args.work / "cache")))
        return []
    if args.dry_run:
        runs = dry_run(args)
        print_runs(runs)
        return runs
    if not args.notebook_python.exists():
        raise SystemExit(f"{args.notebook_python}: not found; run `make seed-venv` first (or pass --notebook-python)")
    data = ensure_data(args)
    print(f"# data {data}; seeds {args.seeds}; {args.threads} thread(s) each side; {os.cpu_count()} CPUs", flush=True)
    result = args.work / f"results-s{args.scale:g}.json"
    runs: list[dict] = []
    for seed in args.seeds:
        rows = args.work / f"split-s{args.scale:g}" / f"seed{seed}"
        for who in ("notebook", "preset"):
            load = os.getloadavg()[0]
            if who == "notebook":
                cmd = [str(args.notebook_python), str(NOTEBOOK), str(data), "--out", str(rows), "--seed", str(seed),
                       "--threads", str(args.threads), "--epochs", str(args.epochs)]  # fmt: skip
            else:
                cmd = preset_cmd(data, rows, seed, args)
            run = child(cmd, args.threads)
            run["load_avg"] = load
            runs.append(run)
            save_runs(runs, result)  # after every run: a stopped benchmark keeps what it measured
            print(f"# {who} seed {seed}: rmse {run['rmse']:.4f} mae {run['mae']:.4f} ndcg@10 {run['ndcg@10']:.4f} "
                  f"train {run['train_seconds']:.1f} s ({run['train_cpu_seconds']:.1f} CPU s), load {load:.1f}",
                  flush=True)  # fmt: skip
    print()
    print_runs(runs)
    print()
    print("\n".join(summarise(runs)))
    print(f"\n# load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}; runs in {result}")
    return runs


if __name__ == "__main__":
    main()
