"""Vectorised parsing of list-valued text columns (``[27, 9]``, ``a|b|c``) without ``eval``."""

from __future__ import annotations

import polars as pl

from reelrec.data._csv import Table

# A Python-literal list of integers: "[8]", "[27, 9]", "[]" (spaces tolerated, nothing else).
_INT_LIST = r"^\s*\[\s*(-?\d+\s*(,\s*-?\d+\s*)*)?\]\s*$"


def parse_int_lists(table: Table, column: str) -> pl.Series:
    """``[27, 9]`` strings to a ``List(Int64)`` series; empty cells stay null.

    KuaiRec stores video tags and friend lists this way and its own loader runs ``eval`` on each
    cell; a regular expression check plus string splitting does the same safely, for all rows at once.

    Raises
    ------
    DataError
        Naming the first row whose value is not a bracketed list of integers.
    """
    text = table.frame[column].cast(pl.String)
    ok = text.str.contains(_INT_LIST) | text.is_null()
    table.require(column, ok, "a bracketed list of integers like '[27, 9]'")
    inner = text.str.strip_chars().str.strip_chars("[]")
    return (
        inner.str.split(",")
        .list.eval(pl.element().str.strip_chars().filter(pl.element().str.strip_chars() != "").cast(pl.Int64))
        .alias(column)
    )


def split_multi(values: pl.Series, separator: str = "|") -> pl.Series:
    """``a|b|c`` strings to a ``List(String)`` series (elements stripped, empty elements dropped)."""
    return (
        values.cast(pl.String)
        .str.split(separator)
        .list.eval(pl.element().str.strip_chars().filter(pl.element().str.strip_chars() != ""))
        .alias(values.name)
    )
