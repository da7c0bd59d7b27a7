"""Typed CSV reading: every malformed file becomes one DataError naming file, column, row and expectation."""

from __future__ import annotations

import polars as pl
import pytest

from reelrec.data._csv import Col, read_table
from reelrec.data._source import DataSource
from reelrec.errors import DataError

COLS = [Col("id", pl.Int64(), "an integer id"), Col("score", pl.Float64(), "a number")]


def read(tmp_path, text: str | bytes, **options):
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return read_table(DataSource(tmp_path), "t.csv", options.pop("columns", COLS), **options)


def test_reads_typed_columns_and_skips_others(tmp_path):
    table = read(tmp_path, "id,other,score\n1,x,0.5\n2,y,1.5\n")
    assert table.frame.columns == ["id", "score"]
    assert table.frame.dtypes == [pl.Int64, pl.Float64]


def test_rest_columns_can_be_typed_or_inferred(tmp_path):
    typed = read(tmp_path, "id,score,a,b\n1,2,3,4\n", rest=pl.Float64())
    assert typed.frame.dtypes == [pl.Int64, pl.Float64, pl.Float64, pl.Float64]
    inferred = read(tmp_path, "id,score,a\n1,2,x\n", rest="infer")
    assert inferred.frame["a"].dtype == pl.String


def test_bom_is_ignored(tmp_path):
    assert read(tmp_path, b"\xef\xbb\xbfid,score\n1,2\n").frame["id"].to_list() == [1]


def test_unparseable_value_names_row_and_expectation(tmp_path):
    with pytest.raises(DataError, match=r"t\.csv: column 'score', row 3 \(line 4\): value 'n/a', expected a number"):
        read(tmp_path, "id,score\n1,2\n2,3\n3,n/a\n")


def test_float_in_integer_column(tmp_path):
    with pytest.raises(DataError, match=r"column 'id', row 1 \(line 2\): value '1.5', expected an integer id"):
        read(tmp_path, "id,score\n1.5,2\n")


def test_empty_required_value_in_the_middle(tmp_path):
    with pytest.raises(
        DataError, match=r"column 'score', row 2 \(line 3\): empty value, expected a number \(2 empty values\)$"
    ):
        read(tmp_path, "id,score\n1,2\n2,\n3,\n4,5\n")


def test_nullable_columns_accept_empty_cells(tmp_path):
    cols = [COLS[0], Col("score", pl.Float64(), "a number", nullable=True)]
    assert read(tmp_path, "id,score\n1,\n", columns=cols).frame["score"].to_list() == [None]


def test_headerless_files_with_another_separator(tmp_path):
    table = read(tmp_path, "1|0.5\n2|1.5\n", separator="|", header=False)
    assert table.frame["score"].to_list() == [0.5, 1.5]
    with pytest.raises(DataError, match=r"line 1 is separated by tabs; expected fields separated by pipes"):
        read(tmp_path, "1\t0.5\n", separator="|", header=False)
    with pytest.raises(DataError, match=r"line 1 has 2 fields separated by pipes, expected 3 \(id, score, x\)"):
        read(tmp_path, "1|\n", separator="|", header=False, columns=[*COLS, Col("x", pl.Int64(), "x")])


def test_latin1_text(tmp_path):
    cols = [Col("id", pl.Int64(), "an id"), Col("title", pl.String(), "a title")]
    table = read(
        tmp_path, "7|Caf\xe9 (1995)\n".encode("latin-1"), columns=cols, separator="|", header=False, encoding="latin-1"
    )
    assert table.frame["title"].to_list() == ["Café (1995)"]


def test_invalid_utf8_header(tmp_path):
    with pytest.raises(DataError, match=r"line 1 is not utf-8 text"):
        read(tmp_path, b"id,sc\xffore\n1,2\n")


def test_blank_first_line(tmp_path):
    with pytest.raises(DataError, match="line 1 is blank"):
        read(tmp_path, "\n1,2\n")


def test_single_field_header_without_any_separator(tmp_path):
    with pytest.raises(DataError, match=r"line 1 has a single field 'idscore'; expected 2 fields separated by commas"):
        read(tmp_path, "idscore\n12\n")


def test_require_reports_how_many_rows_fail(tmp_path):
    table = read(tmp_path, "id,score\n1,-1\n2,3\n3,-2\n")
    with pytest.raises(DataError, match=r"row 1 \(line 2\): value -1.0, expected >= 0 \(2 rows like this\)"):
        table.require("score", table.frame["score"] >= 0, ">= 0")
