"""Run the real CLI as a user would: in a subprocess, or in this process (faster, for error paths)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from reelrec.cli import main


def run_cli(
    *args: str | Path,
    cwd: Path | None = None,
    timeout: float = 300,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m reelrec ARGS`` in a subprocess; ``env`` replaces the environment when given."""
    return subprocess.run(
        [sys.executable, "-m", "reelrec", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        input=input,
        env=env,
    )


def run_in_process(capsys, *args) -> tuple[int, str, str]:
    """Run the CLI in this process; returns (exit status, stdout, stderr)."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def popularity_ndcg_from_csv(folder: Path, k: int = 10, threshold: float = 2.0) -> float:
    """NDCG@k of the popularity ranking under the kuairec protocol, from the raw CSV files alone.

    A brute force of the written definitions (docs/evaluation.md), independent of reelrec's loader,
    split and metrics: train on the big matrix, rank the small block's videos by distinct big-matrix
    viewers (ties by video id), leave out each user's big-matrix videos, relevant = watch ratio >=
    ``threshold``, binary NDCG averaged over users with a relevant video.
    """
    import math

    import polars as pl

    small = pl.read_csv(folder / "small_matrix.csv", columns=["user_id", "video_id", "watch_ratio"])
    big = pl.read_csv(folder / "big_matrix.csv", columns=["user_id", "video_id"]).unique()
    viewers = dict(big.group_by("video_id").len().iter_rows())
    ranking = sorted(set(small["video_id"]), key=lambda v: (-viewers.get(v, 0), v))
    seen: dict[int, set[int]] = {}
    for user, video in big.iter_rows():
        seen.setdefault(user, set()).add(video)
    relevant: dict[int, set[int]] = {}
    for user, video, ratio in small.iter_rows():
        if ratio >= threshold and video not in seen.get(user, set()):
            relevant.setdefault(user, set()).add(video)
    discount = [1 / math.log2(i + 2) for i in range(k)]
    values = []
    for user, rel in relevant.items():
        top = [v for v in ranking if v not in seen.get(user, set())][:k]
        dcg = sum(d for d, v in zip(discount, top, strict=False) if v in rel)
        values.append(dcg / sum(discount[: min(len(rel), k)]))
    return sum(values) / len(values)
