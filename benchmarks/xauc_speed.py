"""Time XAUC/XGAUC and every watch-time figure on a KuaiRec small-block sized test set (exact, no sampling).

The test set has the small matrix's shape: 1,411 users x 3,327 videos = 4,694,397 views, watch
ratios clipped at 5 (ties in the truth), float32 predictions, video lengths in milliseconds. Prints
wall and CPU seconds per call (median of ``--repeats``); the machine's load average is printed too,
because on a shared machine the wall time says more about the neighbours than about the code.

Usage: python benchmarks/xauc_speed.py [--users 1411] [--videos 3327] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from reelrec.eval import watch_metrics, xauc, xgauc
from reelrec.eval._watch_eval import Durations, duration_edges


def _data(users: int, videos: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = users * videos
    user = np.repeat(np.arange(users, dtype=np.int64), videos)
    length = rng.lognormal(9.2, 0.6, videos)[np.tile(np.arange(videos), users)]  # ms
    truth = np.minimum(rng.lognormal(-0.2, 0.7, n), 5.0).astype(np.float32)
    pred = (truth * rng.lognormal(0.0, 0.5, n)).astype(np.float32)
    return pred, truth, user, length


def _time(fn, repeats: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1411)
    parser.add_argument("--videos", type=int, default=3327)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pred, truth, user, length = _data(args.users, args.videos)
    durations = Durations(length, duration_edges(length), seconds=True)
    print(f"{len(pred):,} views, {args.users:,} users; load average before: {os.getloadavg()[0]:.1f}")
    calls = {
        "xauc": lambda: xauc(pred, truth),
        "xgauc": lambda: xgauc(pred, truth, user, args.users),
        "watch_metrics (all)": lambda: watch_metrics(pred, truth, user, args.users, length, durations),
    }
    for name, fn in calls.items():
        wall, cpu = _time(fn, args.repeats)
        print(f"{name:22s} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    print(f"xauc = {xauc(pred, truth):.6f}; load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
