"""``reelrec synth`` on the command line: files, summary, and one-line errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reelrec.cli import app, main
from reelrec.synth import KUAIREC_FILES, TRUTH_FILE


def test_synth_writes_the_files_and_a_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", str(tmp_path / "kr"), "--scale", "0.002", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "wrote synthetic KuaiRec" in result.output and "321 users x 480 videos" in result.output
    assert sorted(p.name for p in (tmp_path / "kr").iterdir()) == sorted([*KUAIREC_FILES, TRUTH_FILE])


def test_synth_json_and_parquet(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["synth", str(tmp_path), "--scale", "0.002", "--format", "parquet", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["big_format"] == "parquet" and summary["rows"]["big_matrix"] > 10_000
    assert summary["drift"] == 0.5  # the default strength of the short-term interests
    assert list((tmp_path / "big_matrix").glob("part-*.parquet"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scale", "0"], "error: scale=0.0, must be a positive number"),
        (["--scale", "-2"], "error: scale=-2.0, must be a positive number"),
        (["--seed", "-1", "--scale", "0.002"], "error: seed=-1, must be >= 0"),
        (["--format", "xlsx", "--scale", "0.002"], "error: --format 'xlsx': expected 'csv' or 'parquet'"),
        (["--drift", "1.5", "--scale", "0.002"], "error: drift=1.5, must be a number in [0, 1]"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", str(tmp_path / "out"), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
