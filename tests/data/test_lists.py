"""List-valued cells: ``[27, 9]`` parsed by pattern and splitting (never eval), ``a|b`` split."""

from __future__ import annotations

import polars as pl
import pytest

from reelrec.data._csv import Table
from reelrec.data._lists import parse_int_lists, split_multi
from reelrec.errors import DataError


def table(values):
    return Table(pl.DataFrame({"feat": pl.Series(values, dtype=pl.String)}), "f.csv")


def test_int_lists_with_spaces_empty_lists_and_nulls():
    got = parse_int_lists(table(["[8]", "[27, 9]", " [ 1 ,2,3 ] ", "[]", None, "[-1]"]), "feat")
    assert got.dtype == pl.List(pl.Int64)
    assert got.to_list() == [[8], [27, 9], [1, 2, 3], [], None, [-1]]


@pytest.mark.parametrize("bad", ["27, 9", "[27 9]", "[2.5]", "[a]", "[1,]", "(1, 2)", "[1]]", "__import__('os')"])
def test_anything_else_is_named(bad):
    with pytest.raises(
        DataError, match=r"f\.csv: column 'feat', row 2 \(line 3\): value .*, expected a bracketed list"
    ):
        parse_int_lists(table(["[1]", bad]), "feat")


def test_split_multi():
    got = split_multi(pl.Series("g", ["a|b", " c ", None, "d||e|"]))
    assert got.to_list() == [["a", "b"], ["c"], None, ["d", "e"]]
