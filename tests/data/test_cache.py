"""Parquet cache: hits give identical data, any file change or option change misses, damage is rebuilt."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from reelrec.data import load_dataset
from reelrec.errors import DataWarning
from tests.data.kuairec_files import write_kuairec_tiny


def load(path, **options):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*match no interaction.*", category=DataWarning)
        return load_dataset(path, **options)


def assert_same(a, b):
    assert a.users == b.users and a.items == b.items
    for block in ("interactions", "fully_observed"):
        x, y = getattr(a, block), getattr(b, block)
        for name in ("user", "item", "label", "timestamp"):
            np.testing.assert_array_equal(getattr(x, name), getattr(y, name))
            assert getattr(x, name).dtype == getattr(y, name).dtype
    np.testing.assert_array_equal(a.truth, b.truth)
    assert a.user_features.frame.equals(b.user_features.frame) and a.user_features.kinds == b.user_features.kinds
    assert a.item_features.frame.equals(b.item_features.frame) and a.item_features.kinds == b.item_features.kinds
    assert a.social == b.social
    assert (a.source, a.label_name) == (b.source, b.label_name)


@pytest.fixture
def files(tmp_path):
    return write_kuairec_tiny(tmp_path / "kr")


def test_second_load_hits_the_cache_beside_the_data(files):
    first = load(files.path)
    second = load(files.path)
    assert (first.meta["cache"], second.meta["cache"]) == ("miss", "hit")
    assert (files.path / ".reelrec-cache").is_dir()
    assert_same(first, second)
    second.interactions.label[0] = -1.0  # cached arrays are ordinary, writable copies
    assert second.meta["big_matrix"] == first.meta["big_matrix"]


def test_changed_file_misses(files):
    load(files.path)
    path = files.folder / "big_matrix.csv"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert load(files.path).meta["cache"] == "miss"


def test_other_options_get_their_own_entry(files):
    load(files.path)
    assert load(files.path, duplicates="drop").meta["cache"] == "miss"
    assert load(files.path, duplicates="drop").meta["cache"] == "hit"
    assert load(files.path).meta["cache"] == "hit"
    assert len(list((files.path / ".reelrec-cache").glob("kuairec-*"))) == 2


def test_cache_dir_option_and_environment(files, tmp_path, monkeypatch):
    load(files.path, cache_dir=tmp_path / "c1")
    assert list((tmp_path / "c1").glob("kuairec-*"))
    monkeypatch.setenv("REELREC_CACHE_DIR", str(tmp_path / "c2"))
    assert load(files.path).meta["cache"] == "miss"
    assert list((tmp_path / "c2").glob("kuairec-*")) and not (files.path / ".reelrec-cache").exists()


@pytest.mark.parametrize("damage", ["truncate-parquet", "garbage-manifest", "missing-part"])
def test_damaged_entry_is_rebuilt_with_a_warning(files, damage):
    first = load(files.path)
    entry = next((files.path / ".reelrec-cache").glob("kuairec-*"))
    if damage == "truncate-parquet":
        target = entry / "interactions.parquet"
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "garbage-manifest":
        (entry / "manifest.json").write_text("{oops")
    else:
        (entry / "item_features.parquet").unlink()
    with pytest.warns(DataWarning, match="is unreadable"):
        again = load(files.path)
    assert again.meta["cache"] == "miss"
    assert_same(first, again)
    assert load(files.path).meta["cache"] == "hit"


def test_writes_are_atomic_and_leave_no_temporary_folders(files):
    load(files.path)
    names = [p.name for p in (files.path / ".reelrec-cache").iterdir()]
    assert len(names) == 1 and names[0].startswith("kuairec-")


def test_unwritable_cache_only_costs_speed(files, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.warns(DataWarning, match="could not write the cache"):
        data = load(files.path, cache_dir=blocker / "sub")
    assert len(data.interactions) == len(files.big)


@pytest.mark.parametrize("how", ["file-in-the-way", "chmod"])
def test_read_only_data_folder_falls_back_to_the_user_cache(files, tmp_path, monkeypatch, how):
    # issue 13, section 4: the cache lived only beside the data, so a read-only folder lost the speed-up
    monkeypatch.delenv("REELREC_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if how == "chmod":
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders; the file-in-the-way case covers root")
        files.path.chmod(0o555)
    else:
        # A regular file where the cache folder belongs stops root too, as a read-only mount would.
        (files.path / ".reelrec-cache").write_text("")
    try:
        with pytest.warns(DataWarning, match=r"cannot be written; caching in .*xdg/reelrec instead"):
            first = load(files.path)
        with pytest.warns(DataWarning, match="cannot be written"):
            second = load(files.path)
    finally:
        files.path.chmod(0o755)
    assert (first.meta["cache"], second.meta["cache"]) == ("miss", "hit")
    assert second.meta["cache_path"].startswith(str(tmp_path / "xdg" / "reelrec" / "kuairec-"))
    assert_same(first, second)
    assert not list(files.path.glob(".write-test-*"))


def test_cache_off(files):
    data = load(files.path, cache=False)
    assert data.meta["cache"] == "off" and not (files.path / ".reelrec-cache").exists()


def test_generic_data_is_cached_too(tmp_path):
    (tmp_path / "interactions.csv").write_text("user_id,item_id,label\n1,2,1.5\n2,2,0.5\n")
    (tmp_path / "items.csv").write_text("item_id,genres\n2,a|b\n")
    first = load(tmp_path)
    second = load(tmp_path)
    assert (first.meta["cache"], second.meta["cache"]) == ("miss", "hit")
    assert second.item_features.frame["genres"].to_list() == [["a", "b"]]
    np.testing.assert_array_equal(first.interactions.label, second.interactions.label)
