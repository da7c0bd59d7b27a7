"""One benchmark shared by the report tests: a regressor, a neural model with history, cold users, video lengths."""

from pathlib import Path

import pytest

from reelrec.bench import run_bench
from tests.eval.watch_data import kuairec_like


@pytest.fixture(scope="session")
def bench_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report-bench") / "bench"
    data = kuairec_like(n_users=45, n_items=60, per_user=20)
    run_bench(
        data,
        ["popularity", "item-mean", "two-tower"],
        seeds=2,
        fast=True,
        params={"two-tower": {"epochs": 2}},
        cold_user_fraction=0.25,
        out=out,
        progress=False,
        n_boot=500,
    )
    return out


@pytest.fixture(scope="session")
def report_path(bench_dir, tmp_path_factory) -> Path:
    from reelrec.report import render_report

    return render_report(bench_dir, tmp_path_factory.mktemp("report") / "nested" / "report.html")
