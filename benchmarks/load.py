"""Load benchmark: reelrec's KuaiRec reader (cold and cached) against the seed notebook's pandas approach.

Each measurement runs in a fresh Python process, so import costs, page cache effects on our side
and peak memory are those a user sees. Peak RSS is the child's ``ru_maxrss``.

Usage: python benchmarks/load.py [--scale 1.0] [--repeats 3] [--data DIR] [--skip-pandas]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = (
    "big_matrix.csv",
    "small_matrix.csv",
    "user_features.csv",
    "item_daily_features.csv",
    "item_categories.csv",
    "social_network.csv",
)


def ensure_data(folder: Path, scale: float, seed: int) -> str:
    """Write full-size synthetic files unless a complete set is already there; returns the generator used."""
    marker = folder / ".complete"
    if marker.exists():
        return marker.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        from reelrec.synth import write_kuairec
    except ImportError:
        sys.path.insert(0, str(Path(__file__).parent))
        from _fake_kuairec import write_fake_kuairec

        write_fake_kuairec(folder, scale=scale, seed=seed)
        generator = "benchmarks/_fake_kuairec.py (reelrec.synth.write_kuairec not available)"
    else:
        write_kuairec(folder, scale=scale, seed=seed)
        generator = "reelrec.synth.write_kuairec"
    marker.write_text(generator + "\n")
    print(f"wrote synthetic data in {time.perf_counter() - started:.0f} s with {generator}", file=sys.stderr)
    return generator


# ------------------------------------------------------------------------------------------ children
def child_reelrec(folder: str, cache_dir: str, cache: bool) -> dict:
    import warnings

    started = time.perf_counter()
    cpu = time.process_time()
    from reelrec.data import load_kuairec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_kuairec(folder, cache=cache, cache_dir=cache_dir)
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "rows": len(data.interactions) + len(data.fully_observed),
        "cache": data.meta.get("cache"),
    }


def child_pandas(folder: str) -> dict:
    """The seed notebook's way: pandas frames, then one wide merged training table."""
    started = time.perf_counter()
    cpu = time.process_time()
    import pandas as pd

    base = Path(folder)
    big = pd.read_csv(base / "big_matrix.csv")
    users = pd.read_csv(base / "user_features.csv")
    daily = pd.read_csv(base / "item_daily_features.csv")
    per_video = daily.groupby("video_id").mean(numeric_only=True).drop(columns=["date"], errors="ignore")
    table = big.merge(users, on="user_id", how="left").merge(
        per_video, on="video_id", how="left", suffixes=("", "_daily")
    )
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "rows": len(table),
        "cache": "-",
    }


def run_child(mode: str, folder: Path, cache_dir: Path) -> dict:
    args = [sys.executable, __file__, "--child", mode, "--data", str(folder), "--cache-dir", str(cache_dir)]
    started = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    return result


def child_main(mode: str, folder: str, cache_dir: str) -> None:
    result = child_pandas(folder) if mode == "pandas" else child_reelrec(folder, cache_dir, cache=True)
    # Linux reports ru_maxrss in KiB.
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


# ------------------------------------------------------------------------------------------- parent
def pandas_memory_estimate_gb(folder: Path) -> float:
    """The merged table holds every big-matrix row times every user and daily column, as float64/object."""
    big_mb = (folder / "big_matrix.csv").stat().st_size / 1e6
    rows = big_mb * 1e6 / 88  # about 88 bytes per big-matrix line
    return rows * (8 + 31 + 58) * 8 / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of KuaiRec's real row counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; medians are reported")
    parser.add_argument("--data", type=Path, default=None, help="folder of KuaiRec CSVs to use or create")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--skip-pandas", action="store_true", help="do not run the pandas baseline")
    parser.add_argument("--pandas-repeats", type=int, default=1, help="runs of the (slow, memory-hungry) baseline")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, str(args.data), str(args.cache_dir))
        return

    folder = args.data or REPO / "data" / f"bench-kuairec-s{args.scale:g}"
    generator = ensure_data(folder, args.scale, args.seed)
    cache_dir = args.cache_dir or folder / ".reelrec-cache"
    size_mb = sum((folder / f).stat().st_size for f in FILES) / 1e6
    print(f"data: {folder} ({size_mb:,.0f} MB of CSV, generator: {generator}), {os.cpu_count()} CPUs")

    results: dict[str, list[dict]] = {"reelrec cold": [], "reelrec cached": [], "pandas (seed notebook)": []}
    for repeat in range(args.repeats):
        shutil.rmtree(cache_dir, ignore_errors=True)
        results["reelrec cold"].append(run_child("cold", folder, cache_dir))
        results["reelrec cached"].append(run_child("cached", folder, cache_dir))
        print(f"  repeat {repeat + 1}/{args.repeats} done", file=sys.stderr)
    if args.skip_pandas:
        del results["pandas (seed notebook)"]
    else:
        import psutil

        need = pandas_memory_estimate_gb(folder)
        free = psutil.virtual_memory().available / 1e9
        if need > 0.6 * free:
            print(f"pandas baseline skipped: needs about {need:.1f} GB, {free:.1f} GB available")
            del results["pandas (seed notebook)"]
        else:
            for _ in range(args.pandas_repeats):
                results["pandas (seed notebook)"].append(run_child("pandas", folder, cache_dir))

    rows = {name: summarise(runs) for name, runs in results.items()}
    base = rows.get("pandas (seed notebook)")
    print()
    print(
        f"{'approach':<24} {'load s':>8} {'cpu s':>8} {'process s':>10} {'peak RSS MB':>12} "
        f"{'time x':>7} {'cpu x':>6} {'RSS x':>6}"
    )
    for name, row in rows.items():
        ratios = [f"{base[key] / row[key]:.1f}" if base else "-" for key in ("seconds", "cpu_seconds", "peak_rss_mb")]
        print(
            f"{name:<24} {row['seconds']:>8.2f} {row['cpu_seconds']:>8.2f} {row['process_seconds']:>10.2f} "
            f"{row['peak_rss_mb']:>12,.0f} {ratios[0]:>7} {ratios[1]:>6} {ratios[2]:>6}"
        )
    print(
        f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
        "(wall times grow with it, cpu s hardly does)"
    )
    print(f"\nmedians of {args.repeats} runs (pandas: {args.pandas_repeats}); 'x' columns: pandas / row")
    if args.json:
        args.json.write_text(json.dumps({"folder": str(folder), "scale": args.scale, "results": results}, indent=1))


def summarise(runs: list[dict]) -> dict:
    keys = ("seconds", "cpu_seconds", "process_seconds", "peak_rss_mb")
    return {k: statistics.median(r[k] for r in runs) for k in keys}


if __name__ == "__main__":
    main()
