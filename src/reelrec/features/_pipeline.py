"""FeaturePipeline: fit on training entities, then encode any FeatureTable rows into model-ready arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from reelrec.data._dataset import FeatureKind, FeatureTable
from reelrec.errors import NotFittedError
from reelrec.features._categories import CategoryVocab, first_non_integral, key_expr, key_type_of
from reelrec.features._encoded import EncodedFeatures, FeatureSpec
from reelrec.features._scaling import ColumnScaling, fit_column, is_heavy_tailed, scale_matrix

FORMAT = "reelrec-feature-pipeline"
FORMAT_VERSION = 1
Role = Literal["numeric", "categorical", "multi"]


@dataclass
class _Column:
    """Learned state of one column: its table kind, how it is encoded, and what was fitted."""

    name: str
    kind: FeatureKind
    role: Role
    scaling: ColumnScaling | None = None
    vocab: CategoryVocab | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "role": self.role}
        if self.scaling is not None:
            out["scaling"] = self.scaling.to_json()
        if self.vocab is not None:
            out["vocab"] = self.vocab.to_json()
        return out

    @classmethod
    def from_json(cls, data: Any, where: str) -> _Column:
        if not isinstance(data, dict):
            raise ValueError(f"{where} must be an object")
        name, kind, role = data.get("name"), data.get("kind"), data.get("role")
        if not isinstance(name, str):
            raise ValueError(f"{where}.name must be a string")
        if kind not in ("numeric", "categorical", "multi") or role not in ("numeric", "categorical", "multi"):
            raise ValueError(f"{where} ({name!r}): kind and role must be numeric, categorical or multi")
        if role == "numeric":
            if not isinstance(data.get("scaling"), dict):
                raise ValueError(f"{where} ({name!r}) lacks its 'scaling' object")
            return cls(name, kind, role, scaling=ColumnScaling.from_json(data["scaling"], f"{where}.scaling"))
        if kind != role:
            raise ValueError(f"{where} ({name!r}): a {kind} column cannot have role {role}")
        return cls(name, kind, role, vocab=CategoryVocab.from_json(data.get("vocab"), f"{where}.vocab"))


class FeaturePipeline:
    """Encode a :class:`FeatureTable` into standardised numbers, category codes and multi-hot bags.

    Everything learned (means, standard deviations, log1p choices, vocabularies) comes from the ``rows``
    passed to :meth:`fit`, so validation and test entities never leak into the encoding. Rows never seen in
    training and values never seen (or missing) still encode: missing numbers become the fit mean (0.0),
    unknown or missing categories code 0.

    Stability: provisional (the public API below is agreed with the model code; the JSON format is versioned).

    Parameters
    ----------
    columns : list of str or None
        Table columns to use, in output order; ``None`` uses all of them in table order.
    log1p : "auto", list of str or bool
        Apply ``log1p`` before standardising: ``"auto"`` picks numeric columns that are non-negative with a
        heavy right tail in the fit rows (skewness > 2 or max/median > 50, at least three distinct values;
        ``as_numeric`` codes are never picked); a list names the columns; ``True`` means every numeric column.
    as_numeric : list of str or None
        Categorical columns to standardise as plain numbers instead of coding them.
    min_count : int
        Categories seen fewer times in the fit rows go to the OOV bucket 0.
    max_categories : int or None
        Keep at most this many categories per column (the most frequent; ties by value); the rest go to 0.
    """

    def __init__(
        self,
        columns: list[str] | None = None,
        log1p: Literal["auto"] | list[str] | bool = "auto",
        as_numeric: list[str] | None = None,
        min_count: int = 1,
        max_categories: int | None = None,
    ) -> None:
        self.columns = columns
        self.log1p = log1p
        self.as_numeric = as_numeric
        self.min_count = min_count
        self.max_categories = max_categories

    # -- parameters ---------------------------------------------------------------------------------------

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters as plain JSON values (lists copied)."""
        return {
            "columns": None if self.columns is None else list(self.columns),
            "log1p": list(self.log1p) if isinstance(self.log1p, list | tuple) else self.log1p,
            "as_numeric": None if self.as_numeric is None else list(self.as_numeric),
            "min_count": self.min_count,
            "max_categories": self.max_categories,
        }

    def _check_params(self) -> None:
        for name in ("columns", "as_numeric"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, str) or not all(isinstance(c, str) for c in value)
            ):
                raise TypeError(f"{name} must be a list of column names or None, got {value!r}")
        if self.columns is not None and len(set(self.columns)) != len(self.columns):
            raise ValueError(f"columns lists a column twice: {self.columns}")
        log1p = self.log1p
        if not (isinstance(log1p, bool) or log1p == "auto" or (
            isinstance(log1p, list | tuple) and all(isinstance(c, str) for c in log1p)
        )):
            raise ValueError(f"log1p={log1p!r}, expected 'auto', True, False or a list of column names")
        if isinstance(self.min_count, bool) or not isinstance(self.min_count, int) or self.min_count < 1:
            raise ValueError(f"min_count={self.min_count!r}, must be an integer >= 1")
        mc = self.max_categories
        if mc is not None and (isinstance(mc, bool) or not isinstance(mc, int) or mc < 1):
            raise ValueError(f"max_categories={mc!r}, must be None or an integer >= 1")

    # -- fitting ------------------------------------------------------------------------------------------

    def fit(self, table: FeatureTable, rows: NDArray[np.int32] | None = None) -> FeaturePipeline:
        """Learn scaling statistics and vocabularies from ``rows`` of ``table`` only.

        Parameters
        ----------
        table : FeatureTable
            Side features, one row per entity index.
        rows : ndarray of int32, shape (m,), or bool of shape (len(table),), optional
            The training entities; ``None`` fits on every row.

        Returns
        -------
        FeaturePipeline
            ``self``, fitted.
        """
        self._check_params()
        _check_table(table)
        names = list(table.columns) if self.columns is None else list(self.columns)
        unknown = [c for c in names if c not in table.kinds]
        if unknown:
            raise ValueError(f"unknown feature column {unknown[0]!r} (columns: {unknown}); "
                             f"the table has {table.columns}")
        as_numeric = set(self.as_numeric or [])
        for c in self.as_numeric or []:
            if c not in names:
                raise ValueError(f"as_numeric names column {c!r}, which is not among the selected columns")
            if table.kinds[c] == "multi":
                raise TypeError(f"as_numeric names column {c!r}, which is multi-valued; only categorical "
                                "columns can be treated as numbers")
        roles: dict[str, Role] = {
            c: "numeric" if (table.kinds[c] == "numeric" or c in as_numeric) else table.kinds[c] for c in names
        }
        numeric_names = [c for c in names if roles[c] == "numeric"]
        if isinstance(self.log1p, list | tuple):
            for c in self.log1p:
                if c not in names:
                    raise ValueError(f"log1p names column {c!r}, which is not among the selected columns")
                if roles[c] != "numeric":
                    raise TypeError(f"log1p names column {c!r}, which is {table.kinds[c]}; log1p applies to "
                                    "numeric columns (add it to as_numeric to treat codes as numbers)")

        idx = _check_rows(rows, len(table), "fit")
        if idx is not None and len(idx) == 0:
            raise ValueError("rows is empty: there is nothing to fit the feature pipeline on")
        frame = _gather(table.frame.select(names), idx)
        _check_dtypes(frame, roles, table.kinds)
        n_fit = len(table) if idx is None else len(idx)  # a frame without columns has height 0

        learned: dict[str, _Column] = {}
        raw = _numeric_block(frame, numeric_names, n_fit)
        for j, c in enumerate(numeric_names):
            values = raw[:, j]
            if self.log1p == "auto":
                use_log = table.kinds[c] == "numeric" and is_heavy_tailed(values[np.isfinite(values)])
            elif isinstance(self.log1p, bool):
                use_log = self.log1p
            else:
                use_log = c in self.log1p
            learned[c] = _Column(c, table.kinds[c], "numeric", scaling=fit_column(values, use_log, c))
        for c in names:
            if roles[c] == "numeric":
                continue
            series = _flat_values(frame[c]) if roles[c] == "multi" else frame[c]
            key_type = key_type_of(series.dtype)
            if key_type is None:  # pragma: no cover - _check_dtypes rejects these first
                raise TypeError(f"feature column {c!r} has unsupported dtype {series.dtype}")
            keys = series.to_frame().select(key_expr(pl.first(), series.dtype, key_type, c)).to_series()
            vocab = CategoryVocab.fit(keys, key_type, self.min_count, self.max_categories)
            learned[c] = _Column(c, table.kinds[c], roles[c], vocab=vocab)

        self.columns_ = [learned[c] for c in names]
        self.n_fit_rows_ = n_fit
        self.spec_ = self._make_spec()
        return self

    def _make_spec(self) -> FeatureSpec:
        cols = self.columns_
        num = [c for c in cols if c.role == "numeric"]
        cat = [c for c in cols if c.role == "categorical"]
        multi = [c for c in cols if c.role == "multi"]
        return FeatureSpec(
            numeric_columns=[c.name for c in num],
            categorical_columns=[c.name for c in cat],
            categorical_cardinalities=[c.vocab.cardinality for c in cat if c.vocab is not None],
            multi_columns=[c.name for c in multi],
            multi_cardinalities=[c.vocab.cardinality for c in multi if c.vocab is not None],
            numeric_missing_columns=[c.name for c in num if c.scaling is not None and c.scaling.has_missing],
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "columns_"):
            raise NotFittedError("this FeaturePipeline is not fitted yet: call fit(table, rows) first")

    # -- transforming -------------------------------------------------------------------------------------

    def transform(self, table: FeatureTable, rows: NDArray | None = None) -> EncodedFeatures:
        """Encode ``rows`` of ``table`` (all rows when ``None``), including rows never seen in training.

        Parameters
        ----------
        table : FeatureTable
            Must hold every fitted column with the same kind; other columns are ignored.
        rows : ndarray of int, shape (m,), or bool of shape (len(table),), optional
            Entity indices; repeats allowed; the output is aligned with them.

        Returns
        -------
        EncodedFeatures
            ``m`` rows (``len(table)`` when ``rows`` is None).
        """
        self._check_fitted()
        _check_table(table)
        names = [c.name for c in self.columns_]
        for col in self.columns_:
            if col.name not in table.kinds:
                raise ValueError(f"feature column {col.name!r} was fitted but is missing from the table "
                                 f"(columns: {table.columns})")
            if table.kinds[col.name] != col.kind:
                raise TypeError(f"feature column {col.name!r} is {table.kinds[col.name]} in this table but was "
                                f"fitted as {col.kind}")
        idx = _check_rows(rows, len(table), "transform")
        frame = _gather(table.frame.select(names), idx)
        _check_dtypes(frame, {c.name: c.role for c in self.columns_}, table.kinds)
        n = len(table) if idx is None else len(idx)  # a frame without columns has height 0

        num = [c for c in self.columns_ if c.role == "numeric"]
        scalings = [c.scaling for c in num if c.scaling is not None]
        numeric, missing = scale_matrix(_numeric_block(frame, [c.name for c in num], n), scalings,
                                        [c.name for c in num])
        keep = np.flatnonzero([s.has_missing for s in scalings])
        numeric_missing = missing[:, keep].astype(np.float32)

        categorical, multi = _encode_categories(frame, [c for c in self.columns_ if c.vocab is not None], n)
        return EncodedFeatures(numeric, numeric_missing, categorical, multi)

    def fit_transform(self, table: FeatureTable, rows: NDArray[np.int32] | None = None) -> EncodedFeatures:
        """``fit(table, rows)`` then ``transform(table, rows)``."""
        return self.fit(table, rows).transform(table, rows)

    # -- persistence and inspection -----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON state (parameters plus everything learned); :meth:`from_json` restores it exactly."""
        out: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION, "params": self.get_params()}
        if hasattr(self, "columns_"):
            out["fitted"] = {"n_fit_rows": self.n_fit_rows_, "columns": [c.to_json() for c in self.columns_]}
        else:
            out["fitted"] = None
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeaturePipeline:
        """Rebuild a pipeline from :meth:`to_json` output; raises ``ValueError`` naming the bad field."""
        if not isinstance(data, dict):
            raise ValueError(f"feature pipeline JSON must be an object, got {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise ValueError(f"not a feature pipeline: format is {data.get('format')!r}, expected {FORMAT!r}")
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"feature pipeline format version {data.get('version')!r} is not supported "
                             f"(this reelrec reads version {FORMAT_VERSION})")
        missing = [k for k in ("params", "fitted") if k not in data]
        if missing:
            raise ValueError(f"feature pipeline JSON lacks keys {missing}")
        params = data["params"]
        expected = {"columns", "log1p", "as_numeric", "min_count", "max_categories"}
        if not isinstance(params, dict) or set(params) != expected:
            got = sorted(params) if isinstance(params, dict) else type(params).__name__
            raise ValueError(f"feature pipeline 'params' must have exactly the keys {sorted(expected)}, got {got}")
        pipe = cls(**params)
        try:
            pipe._check_params()
        except TypeError as exc:
            raise ValueError(f"feature pipeline 'params': {exc}") from None
        fitted = data["fitted"]
        if fitted is None:
            return pipe
        if not isinstance(fitted, dict) or not isinstance(fitted.get("columns"), list):
            raise ValueError("feature pipeline 'fitted' must be null or an object with a 'columns' list")
        n_fit = fitted.get("n_fit_rows")
        if isinstance(n_fit, bool) or not isinstance(n_fit, int) or n_fit < 1:
            raise ValueError(f"feature pipeline 'fitted.n_fit_rows' must be a positive integer, got {n_fit!r}")
        columns = [_Column.from_json(c, f"fitted.columns[{i}]") for i, c in enumerate(fitted["columns"])]
        names = [c.name for c in columns]
        if len(set(names)) != len(names):
            raise ValueError(f"feature pipeline 'fitted.columns' lists a column twice: {names}")
        pipe.columns_ = columns
        pipe.n_fit_rows_ = n_fit
        pipe.spec_ = pipe._make_spec()
        return pipe

    def describe(self) -> dict[str, Any]:
        """Human-oriented summary per column: kind, encoding, vocabulary size, mean/std, log1p, missing share."""
        self._check_fitted()
        cols: dict[str, Any] = {}
        for col in self.columns_:
            entry: dict[str, Any] = {"kind": col.kind, "encoding": col.role}
            if col.scaling is not None:
                s = col.scaling
                entry.update(log1p=s.log1p, mean=s.mean, std=s.std, missing_in_fit=s.n_missing / max(1, s.n_fit),
                             missing_indicator=s.has_missing)
            if col.vocab is not None:
                v = col.vocab
                entry.update(vocab_size=len(v.values), cardinality=v.cardinality, value_type=v.key_type,
                             distinct_in_fit=v.n_distinct, dropped_to_oov=v.n_distinct - len(v.values),
                             top=[[val, cnt] for val, cnt in zip(v.values[:5], v.counts[:5], strict=True)])
            cols[col.name] = entry
        spec = self.spec_
        return {
            "n_fit_rows": self.n_fit_rows_,
            "n_numeric": spec.n_numeric,
            "n_numeric_missing": len(spec.numeric_missing_columns),
            "n_categorical": spec.n_categorical,
            "n_multi": spec.n_multi,
            "columns": cols,
        }

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"FeaturePipeline({params})"


# -- helpers (inputs already validated by the public methods above) ---------------------------------------


def _check_table(table: object) -> None:
    if not isinstance(table, FeatureTable):
        raise TypeError(f"expected a FeatureTable, got {type(table).__name__}")


def _check_rows(rows: NDArray | None, n: int, method: str) -> NDArray[np.int64] | None:
    """Validate ``rows`` (indices or a boolean mask) against a table of ``n`` rows."""
    if rows is None:
        return None
    arr = np.asarray(rows)
    if arr.ndim != 1:
        raise ValueError(f"{method}: rows must be one-dimensional, got shape {arr.shape}")
    if arr.dtype == bool:
        if len(arr) != n:
            raise ValueError(f"{method}: boolean rows mask has length {len(arr)}, expected {n} (the table length)")
        return np.flatnonzero(arr)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{method}: rows must be integer entity indices or a boolean mask, got dtype {arr.dtype}")
    bad = (arr < 0) | (arr >= n)
    if bad.any():
        raise ValueError(f"{method}: {int(bad.sum())} of {arr.size} rows are outside [0, {n}), "
                         f"e.g. {int(arr[bad][0])}")
    return arr.astype(np.int64, copy=False)


def _gather(frame: pl.DataFrame, idx: NDArray[np.int64] | None) -> pl.DataFrame:
    # A frame without columns has height 0 and nothing to gather; callers track the row count.
    return frame if idx is None or frame.width == 0 else frame[idx]


def _check_dtypes(frame: pl.DataFrame, roles: dict[str, Role], kinds: dict[str, FeatureKind]) -> None:
    """Each column's polars dtype must suit how it is encoded; the error names the column."""
    schema = frame.schema
    for name, role in roles.items():
        dtype = schema[name]
        if role == "numeric":
            if not (dtype.is_numeric() or dtype in (pl.Boolean, pl.Null)):
                if kinds[name] == "categorical":
                    raise TypeError(f"feature column {name!r} is in as_numeric but holds {dtype} values, which are "
                                    "not numbers; leave it out of as_numeric")
                raise TypeError(f"feature column {name!r} is encoded as numeric but holds {dtype} values; "
                                "declare it categorical, or convert it to numbers")
        elif role == "multi":
            if not isinstance(dtype, pl.List) or key_type_of(dtype.inner) is None:
                raise TypeError(f"feature column {name!r} is declared multi but has dtype {dtype}; expected a "
                                "List of integers or strings")
        elif isinstance(dtype, pl.List | pl.Array) or key_type_of(dtype) is None:
            raise TypeError(f"feature column {name!r} is declared categorical but has dtype {dtype}; expected "
                            "integers, strings, floats or booleans (multi-valued columns are kind 'multi')")


def _numeric_block(frame: pl.DataFrame, names: list[str], n: int) -> NDArray[np.float64]:
    """(n, d) float64 values of numeric columns; NaN where null."""
    if not names:
        return np.zeros((n, 0), dtype=np.float64)
    block = frame.select([pl.col(c).cast(pl.Float64) for c in names]).to_numpy()
    return np.ascontiguousarray(block, dtype=np.float64)


def _flat_values(series: pl.Series) -> pl.Series:
    """Elements of a List column, concatenated (null and empty lists contribute nothing)."""
    return series.explode(empty_as_null=False, keep_nulls=False)


def _csr_of(series: pl.Series) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(offsets, values) of a List[Int64] column without nulls, read straight from its Arrow buffers."""
    arr = series.rechunk().to_arrow()
    offsets = arr.offsets.to_numpy().astype(np.int64)
    # A copy: Arrow buffers are read-only, and torch.from_numpy warns on (and cannot own) those.
    values = np.array(arr.flatten().to_numpy(zero_copy_only=False), dtype=np.int64)
    return offsets - offsets[0], values


def _encode_categories(
    frame: pl.DataFrame, columns: list[_Column], n: int
) -> tuple[NDArray[np.int64], list[tuple[NDArray[np.int64], NDArray[np.int64]]]]:
    """Codes of every categorical column (n, c) and (offsets, codes) of every multi column.

    All columns go through one polars query, so polars runs them in parallel and the per-call overhead is
    paid once (this keeps single-row transforms, the serving path, at a few milliseconds).
    """
    schema = frame.schema
    cat_exprs: list[pl.Expr] = []
    multi_exprs: list[pl.Expr] = []
    for col in columns:
        if col.vocab is None:  # pragma: no cover - callers pass coded columns only
            continue
        dtype = schema[col.name]
        inner = dtype.inner if isinstance(dtype, pl.List) else dtype
        if key_type_of(inner) == "float" and col.vocab.key_type == "int":
            values = _flat_values(frame[col.name]) if col.role == "multi" else frame[col.name]
            bad = first_non_integral(values)
            if bad is not None:
                raise TypeError(f"column {col.name!r} holds non-integer value {bad!r}; it was fitted on "
                                "integer categories")
        if col.role == "categorical":
            keys = key_expr(pl.col(col.name), inner, col.vocab.key_type, col.name)
            cat_exprs.append(col.vocab.encode_expr(keys).alias(col.name))
        else:
            keys = key_expr(pl.element(), inner, col.vocab.key_type, col.name)
            codes = pl.col(col.name).list.eval(col.vocab.encode_present_expr(keys).drop_nulls())
            multi_exprs.append(codes.fill_null(pl.lit([], dtype=pl.List(pl.Int64))).alias(col.name))
    encoded = frame.select(cat_exprs + multi_exprs) if cat_exprs or multi_exprs else pl.DataFrame()
    if cat_exprs:
        block = encoded.select([e.meta.output_name() for e in cat_exprs]).to_numpy()
        categorical = np.ascontiguousarray(block, dtype=np.int64)
    else:
        categorical = np.zeros((n, 0), dtype=np.int64)
    return categorical, [_csr_of(encoded[e.meta.output_name()]) for e in multi_exprs]
