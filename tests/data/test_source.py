"""Data sources: folder or zip behind one interface, fingerprints that follow content, layouts found."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from reelrec.data import _source
from reelrec.data._source import DataSource, find_kuairec_root
from reelrec.errors import DataError


def make_zip(path, members: dict[str, str]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


def test_zip_members_are_found_by_name_shallowest_first(tmp_path):
    archive = make_zip(
        tmp_path / "a.zip",
        {"top/deep/x.csv": "deep", "top/x.csv": "shallow", "__MACOSX/top/._x.csv": "junk", "top/._y.csv": "junk"},
    )
    source = DataSource(archive)
    assert source.read_bytes("x.csv") == b"shallow"
    assert not source.exists("y.csv") and not source.exists("._x.csv")
    assert source.display("x.csv").endswith("a.zip:top/x.csv")
    assert source.first_line("x.csv") == b"shallow"


def test_large_members_are_inflated_to_a_temporary_file_and_removed(tmp_path, monkeypatch):
    archive = make_zip(tmp_path / "a.zip", {"d/x.csv": "a,b\n1,2\n"})
    monkeypatch.setattr(_source, "_INFLATE_TO_DISK", 0)
    with DataSource(archive).readable("x.csv") as data:
        assert isinstance(data, str) and Path(data).read_text() == "a,b\n1,2\n"
        assert os.path.dirname(data) == str(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip"]


def test_folder_fingerprint_follows_size_and_mtime(tmp_path):
    (tmp_path / "a.csv").write_text("1")
    source = DataSource(tmp_path)
    before = source.fingerprint(["a.csv", "b.csv"])
    assert source.fingerprint(["a.csv", "b.csv"]) == before
    (tmp_path / "a.csv").write_text("12")
    changed = source.fingerprint(["a.csv", "b.csv"])
    (tmp_path / "b.csv").write_text("")
    assert len({before, changed, source.fingerprint(["a.csv", "b.csv"])}) == 3


def test_zip_fingerprint_follows_member_content(tmp_path):
    first = DataSource(make_zip(tmp_path / "a.zip", {"x.csv": "1"})).fingerprint(["x.csv"])
    second = DataSource(make_zip(tmp_path / "a.zip", {"x.csv": "2"})).fingerprint(["x.csv"])
    assert first != second


def test_cache_home_is_beside_the_data(tmp_path):
    assert DataSource(tmp_path).cache_home() == tmp_path / ".reelrec-cache"
    archive = make_zip(tmp_path / "a.zip", {"x.csv": "1"})
    assert DataSource(archive).cache_home() == tmp_path / ".reelrec-cache"


def test_not_a_folder_or_archive(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(DataError, match="not a folder or a zip archive"):
        DataSource(tmp_path / "f.txt")


@pytest.mark.parametrize("inner", ["", "data", "KuaiRec 2.0/data"])
def test_kuairec_root_in_each_layout(tmp_path, inner):
    folder = tmp_path / inner if inner else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "big_matrix.csv").write_text("user_id\n")
    assert find_kuairec_root(tmp_path) == folder
    assert find_kuairec_root(folder / "big_matrix.csv") == folder


def test_kuairec_root_for_archives(tmp_path):
    archive = make_zip(tmp_path / "KuaiRec.zip", {"KuaiRec 2.0/data/big_matrix.csv": "x"})
    assert find_kuairec_root(archive) == archive
    assert find_kuairec_root(tmp_path) == archive
    assert find_kuairec_root(make_zip(tmp_path / "other.zip", {"u.data": "x"})) is None
