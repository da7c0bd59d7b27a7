"""How the CLI presents itself (issue 13, item 8): flags in --help, warnings as one line, metric tables
that fit an 80-column terminal."""

from __future__ import annotations

import io

import numpy as np
import polars as pl
import pytest
from rich.console import Console
from tests.cli.helpers import run_cli, run_in_process
from tests.conftest import make_toy_dataset

from reelrec.cli import _models


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        (("train",), ("--json", "--quiet", "--stream")),
        (("recommend",), ("--include-seen", "--skip-unknown")),
        (("evaluate",), ("--json", "--baselines")),
        (("serve",), ("--access-log",)),
        (("data", "check"), ("--json", "--cache")),
    ],
)
def test_flags_show_no_value_type_in_help(capsys, command, flags):
    # `--json <bool>` read as if the flag took a value
    code, out, err = run_in_process(capsys, *command, "--help")
    assert code == 0, err
    for flag in flags:
        assert flag in out
    assert "<bool>" not in out
    assert "<int>" in out or "<path>" in out  # options that do take a value still show their type


def test_a_warning_under_quiet_is_one_line_without_a_source_path(tmp_path):
    ds = make_toy_dataset(n_users=40, n_items=60, per_user=15, with_block=False)
    data = tmp_path / "toy"
    data.mkdir()
    inter = ds.interactions
    pl.DataFrame(
        {"user_id": ds.users.raw(inter.user), "item_id": ds.items.raw(inter.item), "label": inter.label}
    ).write_csv(data / "interactions.csv")
    proc = run_cli(
        "train", data, "--out", tmp_path / "art", "--model", "mf", "--protocol", "none", "--quiet",
        "--set", "params.reg=100000.0", "--set", "params.embedding_size=4", "--set", "params.epochs=2",
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("warning: BiasedMF: reg=100000.0 shrank the latent factors")
    assert lines[0].endswith("(FactorCollapseWarning)")
    assert ".py" not in proc.stderr and "warnings.warn" not in proc.stderr


def test_metric_table_fits_80_columns(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(_models, "console", Console(file=out, width=80, color_system=None))
    metrics = (*_models._SHOWN, "truth_graded_ndcg@10", "mae", "rmse", "fit_seconds")
    rng = np.random.default_rng(0)
    comparison = {name: {m: float(rng.random()) for m in metrics} for name in ("two-tower", "popularity", "mf")}
    _models._print_metrics(comparison, "two-tower")
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # nothing cut off
    for m in metrics:
        assert text.count(f" {m} ") == 1, m
    for name, row in comparison.items():
        assert text.count(f"{row['ndcg@10']:.4f}") >= 1 and name in text
