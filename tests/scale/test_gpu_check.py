"""benchmarks/gpu_check.sh on a machine without CUDA: it skips the GPU runs cleanly and reports the CPU ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "benchmarks" / "gpu_check.sh"


def _run(work: Path, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHON": sys.executable, **env}
    return subprocess.run(["bash", str(SCRIPT), str(work)], env=full, capture_output=True, text=True, timeout=300)


def test_missing_packages_stop_with_instructions(tmp_path: Path) -> None:
    # An interpreter without site-packages stands in for a machine lacking polars and friends.
    bare = tmp_path / "bare-python"
    bare.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    bare.chmod(0o755)
    done = _run(tmp_path / "work", PYTHON=str(bare))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "missing Python packages" in done.stdout and "polars" in done.stdout
    assert "pip download --only-binary=:all:" in done.stdout


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only path")
def test_cpu_only_run_reports_both_models(tmp_path: Path) -> None:
    done = _run(tmp_path / "work", REELREC_GPU_CHECK_SCALE="0.005", REELREC_GPU_CHECK_CPU_S="3")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "no CUDA device: the GPU runs are skipped" in out
    assert "GPU part skipped (no CUDA device)" in out
    table = [line.split() for line in out.splitlines() if line.startswith(("seed ", "two-tower "))]
    assert [row[:2] for row in table] == [["seed", "cpu"], ["two-tower", "cpu"]]
    assert all(float(row[2].replace(",", "")) > 0 for row in table)  # a measured throughput
    assert (tmp_path / "work" / "results" / "two-tower-cpu.metrics.json").is_file()
