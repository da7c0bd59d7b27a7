"""Category vocabularies: raw categorical values of any type to dense int64 codes, with an OOV bucket 0."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

KeyType = Literal["int", "float", "str", "bool", "null"]
KEY_TYPES: tuple[str, ...] = ("int", "float", "str", "bool", "null")
_POLARS_TYPE: dict[str, pl.DataType] = {
    "int": pl.Int64(),
    "float": pl.Float64(),
    "str": pl.String(),
    "bool": pl.Boolean(),
    "null": pl.Null(),
}


def key_type_of(dtype: PolarsDataType) -> KeyType | None:
    """The key type that holds values of a polars dtype exactly, or ``None`` if none does."""
    if dtype.is_integer():
        return "int"
    if dtype.is_float():
        return "float"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum | pl.Categorical):
        return "str"
    if dtype == pl.Boolean:
        return "bool"
    if dtype == pl.Null:
        return "null"
    return None


def key_expr(expr: pl.Expr, have: PolarsDataType, key_type: KeyType, column: str) -> pl.Expr:
    """``expr`` (values of polars dtype ``have``) cast to the canonical key dtype of ``key_type``.

    Missing values (null, NaN, inf) become null. Raises ``TypeError`` naming the column when values of
    ``have`` cannot be keys of ``key_type`` (e.g. strings where integer categories were fitted). Floats
    read as integer keys must be integral: check that with :func:`first_non_integral`.
    """
    found = key_type_of(have)
    if found is None:
        raise TypeError(f"column {column!r} has dtype {have}; categorical values must be integers, floats, "
                        "strings or booleans")
    if found == "null":
        return expr.cast(_POLARS_TYPE[key_type])
    if found == "float":
        value = expr.cast(pl.Float64)
        # Fold -0.0 into 0.0 (one category, one JSON key); an explicit test, as `x + 0.0` may be optimised away.
        expr = pl.when(value.is_finite()).then(pl.when(value == 0.0).then(pl.lit(0.0)).otherwise(value))
        if key_type == "int":
            return expr.cast(pl.Int64, strict=False)
    if key_type == "null":
        return expr  # fitted on an all-null column: every present value is out of vocabulary, whatever its type
    if found == key_type or (key_type == "float" and found == "int"):
        return expr.cast(_POLARS_TYPE[key_type])
    raise TypeError(f"column {column!r} holds {found} values but was fitted on {key_type} categories")


def first_non_integral(values: pl.Series) -> float | None:
    """The first finite non-integral float in ``values`` (float dtype), or ``None``: such values are no integer key."""
    bad = values.filter(values.is_finite() & (values.round(0) != values))
    return float(bad[0]) if len(bad) else None


def _key_to_str(value: Any, key_type: str) -> str:
    if key_type == "float":
        return repr(float(value))
    if key_type == "bool":
        return "true" if value else "false"
    return str(value)


def _key_from_str(text: str, key_type: str) -> Any:
    if key_type == "int":
        return int(text)
    if key_type == "float":
        return float(text)
    if key_type == "bool":
        if text not in ("true", "false"):
            raise ValueError(f"boolean category must be 'true' or 'false', got {text!r}")
        return text == "true"
    return text


@dataclass
class CategoryVocab:
    """Known categories of one column, most frequent first; category ``values[i]`` has code ``i + 1``.

    Attributes
    ----------
    key_type : {"int", "float", "str", "bool", "null"}
        The type of the fitted values, so a JSON round trip restores them exactly.
    values : list
        Kept categories in code order (descending fit count, ties by value).
    counts : list of int
        Fit-row occurrences of each kept category.
    n_distinct : int
        Distinct non-missing values in the fit rows, before ``min_count`` / ``max_categories``.
    """

    key_type: KeyType
    values: list[Any]
    counts: list[int]
    n_distinct: int
    _lookup: tuple[pl.Series, pl.Series] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def cardinality(self) -> int:
        """Embedding table size: known categories plus the 0 (missing / OOV) bucket."""
        return len(self.values) + 1

    @classmethod
    def fit(cls, keys: pl.Series, key_type: KeyType, min_count: int, max_categories: int | None) -> CategoryVocab:
        """Count non-missing ``keys`` and keep the frequent ones (``keys`` built with :func:`key_expr`)."""
        present = keys.drop_nulls()
        if key_type == "null" or len(present) == 0:
            return cls(key_type, [], [], 0)
        counts = present.rename("value").value_counts(name="count")
        n_distinct = counts.height
        counts = counts.filter(pl.col("count") >= min_count).sort(["count", "value"], descending=[True, False])
        if max_categories is not None:
            counts = counts.head(max_categories)
        return cls(key_type, counts["value"].to_list(), [int(c) for c in counts["count"].to_list()], n_distinct)

    def encode_expr(self, keys: pl.Expr) -> pl.Expr:
        """Codes of ``keys`` (from :func:`key_expr`): 1..V-1 for known values, 0 for missing or unseen ones."""
        return self.encode_present_expr(keys).fill_null(0)

    def encode_present_expr(self, keys: pl.Expr) -> pl.Expr:
        """Like :meth:`encode_expr`, but missing keys stay null (multi-valued columns drop them)."""
        if not self.values:
            return pl.when(keys.is_not_null()).then(pl.lit(0, dtype=pl.Int64))
        if self._lookup is None:
            self._lookup = (
                pl.Series("old", self.values, dtype=_POLARS_TYPE[self.key_type]),
                pl.Series("new", np.arange(1, len(self.values) + 1, dtype=np.int64)),
            )
        old, new = self._lookup
        return pl.when(keys.is_not_null()).then(keys.replace_strict(old, new, default=0, return_dtype=pl.Int64))

    def to_json(self) -> dict[str, Any]:
        """Values keyed by their string form, with the type recorded (exact round trip)."""
        return {
            "type": self.key_type,
            "values": [_key_to_str(v, self.key_type) for v in self.values],
            "counts": list(self.counts),
            "n_distinct": self.n_distinct,
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> CategoryVocab:
        """Rebuild from :meth:`to_json`; ``where`` names the JSON field in error messages."""
        if not isinstance(data, dict):
            raise ValueError(f"{where} must be an object, got {type(data).__name__}")
        missing = [k for k in ("type", "values", "counts", "n_distinct") if k not in data]
        if missing:
            raise ValueError(f"{where} lacks keys {missing}")
        key_type = data["type"]
        if key_type not in KEY_TYPES:
            raise ValueError(f"{where}.type is {key_type!r}, expected one of {list(KEY_TYPES)}")
        values, counts = data["values"], data["counts"]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ValueError(f"{where}.values must be a list of strings")
        if not isinstance(counts, list) or len(counts) != len(values) or not all(
            isinstance(c, int) and c >= 1 for c in counts
        ):
            raise ValueError(f"{where}.counts must be {len(values)} positive integers, one per value")
        if not isinstance(data["n_distinct"], int) or data["n_distinct"] < len(values):
            raise ValueError(f"{where}.n_distinct must be an integer >= {len(values)}")
        try:
            parsed = [_key_from_str(v, key_type) for v in values]
        except ValueError as exc:
            raise ValueError(f"{where}.values: {exc}") from None
        if len(set(parsed)) != len(parsed):
            raise ValueError(f"{where}.values has duplicates")
        return cls(key_type, parsed, list(counts), int(data["n_distinct"]))
