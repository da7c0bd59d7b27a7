"""``reelrec data check`` and ``reelrec download``: summaries, JSON, one-line errors, real HTTP downloads."""

from __future__ import annotations

import hashlib
import json

import pytest
from tests.cli.helpers import run_cli
from tests.cli.helpers import run_in_process as run
from tests.data.kuairec_files import write_kuairec_tiny
from tests.data.test_download import Server, ml_archive


@pytest.fixture
def kuairec(tmp_path):
    return write_kuairec_tiny(tmp_path / "kr", caption="good")


def test_check_prints_a_summary_table(capsys, kuairec):
    code, out, err = run(capsys, "data", "check", kuairec.path, "--no-cache")
    assert code == 0
    assert "users" in out and "interactions" in out and f"{len(kuairec.big)}" in out
    assert "exact copies" in out and "repeat views" in out
    assert "watch_ratio quantiles" in out and "time range (UTC)" in out
    assert "multi (1): tags" in out
    assert "warning:" in err and "match no interaction" in err  # warnings are one line each, no source dump


def test_check_json_is_machine_readable(capsys, kuairec):
    code, out, _ = run(capsys, "data", "check", kuairec.path, "--json", "--duplicates", "drop", "--clip", "none")
    assert code == 0
    summary = json.loads(out)
    exact = summary["big_matrix"]["exact_duplicate_rows"]
    assert summary["interactions"] == len(kuairec.big) - exact and exact > 0
    assert summary["label_quantiles"]["max"] > 50  # not clipped
    assert summary["item_features"]["tags"] == "multi"
    assert summary["cache"] == "miss" and any("match no interaction" in w for w in summary["warnings"])


def test_check_passes_kuairec_options(capsys, kuairec):
    code, out, _ = run(capsys, "data", "check", kuairec.path, "--json", "--daily-until", "20200706",
                       "--daily-window-days", "1", "--no-cache")  # fmt: skip
    assert code == 0
    summary = json.loads(out)
    assert (summary["daily_until"], summary["daily_from"]) == (20200706, 20200706)


def test_bad_input_is_one_error_line(capsys, kuairec):
    lines = kuairec.read("big_matrix.csv").splitlines()
    lines[3] = "x" + lines[3][1:]
    kuairec.write("big_matrix.csv", "\n".join(lines) + "\n")
    code, out, err = run(capsys, "data", "check", kuairec.path)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "big_matrix.csv: column 'user_id', row 3 (line 4)" in err
    assert "Traceback" not in err


def test_option_for_another_format_is_refused(capsys, tmp_path):
    (tmp_path / "interactions.csv").write_text("user_id,item_id,label\n1,2,3\n")
    code, _, err = run(capsys, "data", "check", tmp_path, "--daily-until", "20200101")
    assert code == 2 and "does not apply to generic data" in err


def test_unknown_folder(capsys, tmp_path):
    code, _, err = run(capsys, "data", "check", tmp_path / "nothing")
    assert code == 2 and "no such file or folder" in err


def test_help_shows_examples():
    for args in (["data", "check", "--help"], ["download", "--help"], ["data", "--help"]):
        result = run_cli(*args, timeout=120)
        assert result.returncode == 0 and "Example: reelrec" in result.stdout


def test_error_from_a_real_process_has_no_traceback(tmp_path):
    (tmp_path / "interactions.csv").write_text("user_id;item_id;label\n1;2;3\n")
    result = run_cli("data", "check", tmp_path, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and "separated by semicolons" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.filterwarnings("ignore::reelrec.errors.DataWarning")
def test_download_resumes_verifies_and_unpacks(capsys, tmp_path):
    payload = ml_archive(tmp_path)
    digest = hashlib.md5(payload, usedforsecurity=False).hexdigest()
    with Server(payload) as server:
        server.cut_after = [50_000]
        code, out, err = run(capsys, "download", "movielens-100k", "--dest", tmp_path / "d", "--url", server.url,
                             "--md5", digest)  # fmt: skip
    assert code == 0, err
    assert server.ranges == [None, "bytes=50000-"]
    assert "ready at" in out and "reelrec data check" in out
    code, out, _ = run(capsys, "data", "check", tmp_path / "d" / "ml-100k", "--json")
    assert code == 0 and json.loads(out)["interactions"] == 3


def test_download_checksum_mismatch_is_an_error(capsys, tmp_path):
    payload = ml_archive(tmp_path)
    with Server(payload) as server:
        code, _, err = run(capsys, "download", "movielens-100k", "--dest", tmp_path / "d", "--url", server.url)
    assert code == 2
    assert err.startswith("error:") and "expected 0e33842e24a9c977be4e0107933c0723" in err
    assert not list((tmp_path / "d").glob("ml-100k.zip*"))


def test_download_unknown_name(capsys, tmp_path):
    code, _, err = run(capsys, "download", "netflix", "--dest", tmp_path)
    assert code == 2 and "unknown data set 'netflix'" in err


def test_check_generic_reports_duplicates_and_features(capsys, tmp_path):
    (tmp_path / "interactions.csv").write_text("user_id,item_id,label\n1,2,3\n1,2,3\n1,2,4\n2,3,1\n")
    (tmp_path / "items.csv").write_text("item_id,genres\n2,a|b\n3,c\n")
    code, out, _ = run(capsys, "data", "check", tmp_path, "--no-cache")
    assert code == 0
    assert "1 exact copies, 1 repeat views, 2 distinct pairs" in out
    assert "multi (1): genres" in out
