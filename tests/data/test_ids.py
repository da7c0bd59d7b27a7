"""Vocabulary building: union of ids across files, sorted; fast lookups agree with IdMap.index."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from reelrec.data._ids import align_rows, lookup, union_ids


@pytest.mark.parametrize("offset", [0, 10**12, -50])  # dense table, sorted search, negative ids
def test_integer_union_and_lookup(offset, rng):
    a = pl.Series(rng.integers(0, 100, 500) + offset)
    b = pl.Series([offset + 1000, offset + 3])
    ids = union_ids(a, b, None)
    assert ids.to_list() == sorted(set(a.to_list()) | set(b.to_list()))
    np.testing.assert_array_equal(lookup(ids, a), ids.index(a.to_numpy()))
    assert lookup(ids, a).dtype == np.int32


def test_string_union_and_lookup():
    ids = union_ids(pl.Series(["b", "a", "b"]), pl.Series(["c"]))
    assert ids.to_list() == ["a", "b", "c"]
    assert lookup(ids, pl.Series(["c", "a"])).tolist() == [2, 0]


def test_mixed_id_types_are_refused():
    with pytest.raises(TypeError, match="must all be integers or all strings"):
        union_ids(pl.Series([1, 2]), pl.Series(["a"]))


def test_align_rows_puts_each_row_at_its_index_and_nulls_elsewhere():
    ids = union_ids(pl.Series([5, 7, 9]))
    frame = pl.DataFrame({"x": [1.5, 2.5], "tags": [["a"], ["b", "c"]]})
    out = align_rows(ids, pl.Series([9, 5]), frame)
    assert out["x"].to_list() == [2.5, None, 1.5]
    assert out["tags"].to_list() == [["b", "c"], None, ["a"]]
