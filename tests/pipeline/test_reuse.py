"""Artifact reuse by `reelrec evaluate` keys on the data's content and the code version (issue 10)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reelrec import _codeversion
from reelrec.cli import main
from reelrec.data import _cache
from tests.cli.helpers import run_in_process as run


@pytest.fixture(scope="module")
def folder(kuairec_tiny) -> Path:
    return kuairec_tiny


@pytest.fixture(scope="module")
def pop_holdout(tmp_path_factory, folder) -> Path:
    """A popularity artifact trained on the holdout split's training part only (--no-refit)."""
    out = tmp_path_factory.mktemp("pop") / "art"
    args = ["train", str(folder), "--out", str(out), "--model", "popularity", "--protocol", "holdout", "--no-refit",
            "--quiet"]  # fmt: skip
    try:
        main(args)
    except SystemExit as exc:
        assert not exc.code, exc
    return out


def evaluate_note(capsys, artifact: Path, data: Path) -> str:
    code, out, err = run(capsys, "evaluate", artifact, data, "--protocol", "holdout", "--no-baselines", "--json")
    assert code == 0, err
    return json.loads(out)["note"]


def test_same_data_elsewhere_reuses_the_artifact(capsys, tmp_path, pop_holdout, folder):
    copy = shutil.copytree(folder, tmp_path / "copy", ignore=shutil.ignore_patterns(".reelrec-cache"))
    assert "evaluated as saved" in evaluate_note(capsys, pop_holdout, folder)
    assert "evaluated as saved" in evaluate_note(capsys, pop_holdout, copy)  # the content decides, not the path


def test_one_edited_label_stops_the_reuse(capsys, tmp_path, pop_holdout, folder):
    copy = shutil.copytree(folder, tmp_path / "copy", ignore=shutil.ignore_patterns(".reelrec-cache"))
    lines = (copy / "big_matrix.csv").read_text().splitlines()
    fields = lines[10].split(",")
    fields[7] = repr(float(fields[7]) + 1.0)  # the watch_ratio of one view; ids untouched
    lines[10] = ",".join(fields)
    (copy / "big_matrix.csv").write_text("\n".join(lines) + "\n")
    assert "re-fitted" in evaluate_note(capsys, pop_holdout, copy)


def test_another_split_setting_stops_the_reuse(capsys, pop_holdout, folder):
    args = ("--protocol", "holdout", "--split-seed", "1", "--no-baselines", "--json")
    code, out, err = run(capsys, "evaluate", pop_holdout, folder, *args)
    assert code == 0, err
    assert "re-fitted" in json.loads(out)["note"]


def test_a_refitted_artifact_is_never_reused(capsys, tmp_path, folder):
    out = tmp_path / "art"
    args = ("--model", "popularity", "--protocol", "holdout", "--quiet")
    code, _, err = run(capsys, "train", folder, "--out", out, *args)
    assert code == 0, err
    assert "re-fitted" in evaluate_note(capsys, out, folder)  # it saw the test rows when refitted on everything


def test_code_version_follows_the_source(tmp_path, monkeypatch):
    package = tmp_path / "reelrec"
    (package / "data").mkdir(parents=True)
    (package / "data" / "_a.py").write_text("x = 1\n")
    (package / "eval").mkdir()
    (package / "eval" / "_b.py").write_text("y = 1\n")
    monkeypatch.setattr(_codeversion, "_PACKAGE", package)
    _codeversion.code_version.cache_clear()
    try:
        before = _codeversion.code_version("data")
        assert before.startswith(_codeversion.__version__ + "+")
        (package / "eval" / "_b.py").write_text("y = 2\n")
        _codeversion.code_version.cache_clear()
        assert _codeversion.code_version("data") == before  # another subpackage's edit does not count
        (package / "data" / "_a.py").write_text("x = 2\n")
        _codeversion.code_version.cache_clear()
        assert _codeversion.code_version("data") != before
        with pytest.raises(ValueError, match="'nope' is not a subpackage"):
            _codeversion.code_version("nope")
    finally:
        _codeversion.code_version.cache_clear()


def test_the_data_cache_is_keyed_on_the_loaders_code():
    assert _codeversion.code_version("data") == _cache.CACHE_VERSION


def test_a_temporal_artifact_is_reused_on_its_own_split(capsys, tmp_path, folder):
    out = tmp_path / "art"
    code, _, err = run(capsys, "train", folder, "--out", out, "--model", "popularity", "--protocol", "temporal",
                       "--no-refit", "--quiet")  # fmt: skip
    assert code == 0, err
    code, stdout, err = run(capsys, "evaluate", out, folder, "--protocol", "temporal", "--no-baselines", "--json")
    assert code == 0, err
    result = json.loads(stdout)
    assert result["protocol"] == "temporal" and "evaluated as saved" in result["note"]
