"""`reelrec demo` end to end at a tiny scale: tables, the saved artifact, --threads, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from tests.cli.helpers import popularity_ndcg_from_csv, run_cli
from tests.cli.helpers import run_in_process as run

from reelrec.artifacts import load_artifact
from reelrec.models import DEFAULT_MODEL, model_class

_DEMO_MODELS = (DEFAULT_MODEL, "notebook", "popularity", "item-mean", "mf")


def table_rows(text: str, title: str) -> list[list[str]]:
    """The body cells of the rich table whose title line contains ``title``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if title in line)
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("└"):
            break
        if line.startswith("│"):
            rows.append([cell.strip() for cell in line.strip("│").split("│")])
    return rows


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "run"
    proc = run_cli("demo", "--scale", "0.003", "--out", out, "--quiet", "--threads", "1", "--seed", "2")
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_demo_metrics_table_compares_default_seed_and_baselines(demo):
    out, proc = demo
    rows = table_rows(proc.stdout, "metrics (mean over scored users)")
    assert [r[0] for r in rows] == [f"{DEFAULT_MODEL} *", *_DEMO_MODELS[1:]]
    header = next(line for line in proc.stdout.splitlines() if "ndcg@10" in line)
    assert "truth_graded_ndcg@10" in header and "rmse" in header
    ndcg = [float(r[1]) for r in rows]
    # The table prints 4 decimals: popularity matches a brute force from the demo's CSVs to 5e-5.
    assert ndcg[2] == pytest.approx(popularity_ndcg_from_csv(out / "data"), abs=5e-5)
    assert max(ndcg[:2]) > ndcg[2]  # the learned models beat popularity on the fully observed block


def test_demo_quiet_has_no_progress(demo):
    _, proc = demo
    assert "[1/4]" not in proc.stderr and "[4/4]" not in proc.stderr
    assert "demo finished in" in proc.stdout


def test_demo_top10_matches_the_saved_artifact(demo):
    out, proc = demo
    title = next(line for line in proc.stdout.splitlines() if "top-10 for user" in line)
    user = title.split("top-10 for user")[1].split()[0]
    rows = table_rows(proc.stdout, "top-10 for user")
    assert [r[0] for r in rows] == [str(i) for i in range(1, 11)]
    shown = [int(r[1]) for r in rows]
    scores = [float(r[4]) for r in rows]
    assert scores == sorted(scores, reverse=True)

    art = load_artifact(out / "artifact", model_class)
    assert art.model.name == DEFAULT_MODEL
    assert set(art.metrics["comparison"]) == set(_DEMO_MODELS)
    assert art.config["seed"] == 2
    model = art.model
    items, _ = model.recommend_indices(model.users_.index(np.asarray([int(user)])), k=10)
    assert model.items_.raw(items[0]).tolist() == shown  # the artifact reproduces the printed list


def test_demo_writes_its_data(demo):
    out, _ = demo
    for name in ("big_matrix.csv", "small_matrix.csv", "item_categories.csv"):
        assert (out / "data" / name).is_file()


@pytest.mark.parametrize("threads", ["0", "1"])
def test_threads_zero_and_one_are_accepted(capsys, tmp_path, threads):
    # An invalid scale stops the run right after option parsing and the thread check: the error is
    # about the scale, so --threads passed both.
    code, _, err = run(capsys, "demo", "--threads", threads, "--scale", "0", "--out", tmp_path / "d", "--quiet")
    assert code == 2 and err.startswith("error: ") and "scale" in err
    assert "threads" not in err


def test_negative_threads_are_refused(capsys, tmp_path):
    code, _, err = run(capsys, "demo", "--threads", "-1", "--out", tmp_path / "d")
    assert code == 2 and "--threads" in err
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("scale", ["0", "-0.5", "nan", "50"])
def test_invalid_scale_is_one_error_line(capsys, tmp_path, scale):
    code, out, err = run(capsys, "demo", "--scale", scale, "--out", tmp_path / "d", "--quiet")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: scale=")
    assert "Traceback" not in err
    assert not (tmp_path / "d").exists()  # nothing written before the check


def test_invalid_scale_from_the_console_script(tmp_path):
    proc = run_cli("demo", "--scale", "0", "--out", tmp_path / "d")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: scale=0.0"), proc.stderr  # no progress line first
    assert not (tmp_path / "d").exists()
