"""Cold start: turn a new user's JSON features into a one-row FeatureTable with the artifact's columns."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from reelrec.data._dataset import FeatureKind, FeatureTable


class FeatureInputError(ValueError):
    """A request's feature values do not fit the artifact's columns; ``field`` names the column."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _scalar_dtype(value: Any) -> pl.DataType:
    # bool first: it is an int subclass in Python.
    if isinstance(value, bool):
        return pl.Boolean()
    if isinstance(value, int):
        return pl.Int64()
    if isinstance(value, float):
        return pl.Float64()
    return pl.String()


def _column(name: str, kind: FeatureKind, value: Any) -> pl.Series:
    """One-row series for ``value``; its dtype follows the JSON type, as the training table's did."""
    if value is None:
        dtype: pl.DataType = {"numeric": pl.Float64(), "categorical": pl.Null(), "multi": pl.List(pl.Null())}[kind]
        return pl.Series(name, [None], dtype=dtype)
    if kind == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FeatureInputError(name, f"feature {name!r} is numeric; expected a number, got {value!r}")
        if not math.isfinite(value):
            raise FeatureInputError(name, f"feature {name!r} must be finite, got {value!r}")
        return pl.Series(name, [float(value)], dtype=pl.Float64)
    if kind == "categorical":
        if not isinstance(value, str | int | float):
            raise FeatureInputError(
                name, f"feature {name!r} is categorical; expected a string, number or boolean, got {value!r}"
            )
        return pl.Series(name, [value], dtype=_scalar_dtype(value))
    if not isinstance(value, list):
        raise FeatureInputError(name, f"feature {name!r} is multi-valued; expected a list, got {value!r}")
    kinds = {type(v) for v in value if v is not None}
    if any(isinstance(v, list | dict) for v in value) or len(kinds) > 1:
        raise FeatureInputError(
            name, f"feature {name!r} must be a list of strings or a list of integers, got {value!r}"
        )
    inner = _scalar_dtype(next(v for v in value if v is not None)) if kinds else pl.Null()
    return pl.Series(name, [value], dtype=pl.List(inner))


def feature_table(values: dict[str, Any], kinds: dict[str, FeatureKind]) -> FeatureTable:
    """A one-row :class:`FeatureTable` holding every column in ``kinds``; absent columns are null.

    Parameters
    ----------
    values : dict
        Column name -> JSON value (number, string, boolean, list, or null).
    kinds : dict
        The artifact's user feature columns and their kinds (``dataset.json`` ``user_features``).

    Raises
    ------
    FeatureInputError
        Naming the first unknown column or the first value of the wrong type.
    """
    if not kinds:
        raise FeatureInputError("features", "this artifact records no user feature columns; cold start is unavailable")
    for name in values:
        if name not in kinds:
            shown = ", ".join(list(kinds)[:20])
            raise FeatureInputError(name, f"unknown feature {name!r}; this artifact's user features are: {shown}")
    columns = [_column(name, kind, values.get(name)) for name, kind in kinds.items()]
    return FeatureTable(pl.DataFrame(columns), dict(kinds))
