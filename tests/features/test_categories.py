"""Category vocabularies: typed keys, frequency order, exact JSON round trip."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from reelrec.features._categories import CategoryVocab, first_non_integral, key_expr, key_type_of


def _keys(series: pl.Series, key_type: str) -> pl.Series:
    return series.to_frame().select(key_expr(pl.first(), series.dtype, key_type, "col")).to_series()


def _encode(vocab: CategoryVocab, keys: pl.Series) -> list[int]:
    return keys.to_frame().select(vocab.encode_expr(pl.first())).to_series().to_list()


def test_key_types_of_polars_dtypes():
    assert key_type_of(pl.Int8()) == key_type_of(pl.UInt64()) == "int"
    assert key_type_of(pl.Float32()) == "float"
    assert key_type_of(pl.String()) == key_type_of(pl.Categorical()) == key_type_of(pl.Enum(["a"])) == "str"
    assert key_type_of(pl.Boolean()) == "bool"
    assert key_type_of(pl.Date()) is None and key_type_of(pl.List(pl.Int64)) is None


def test_float_keys_fold_signed_zero_and_drop_non_finite():
    keys = _keys(pl.Series([-0.0, 0.0, float("nan"), float("inf"), None, 1.5]), "float")
    assert keys.to_list() == [0.0, 0.0, None, None, None, 1.5]
    assert np.signbit(keys[0]) == np.False_


def test_fit_orders_by_count_then_value_and_round_trips():
    keys = _keys(pl.Series([3, 1, 3, 2, 2, 3, None, 1, 9]), "int")
    vocab = CategoryVocab.fit(keys, "int", min_count=2, max_categories=None)
    assert vocab.values == [3, 1, 2] and vocab.counts == [3, 2, 2] and vocab.n_distinct == 4
    assert _encode(vocab, keys) == [1, 2, 1, 3, 3, 1, 0, 2, 0]
    again = CategoryVocab.from_json(vocab.to_json(), "vocab")
    assert again == vocab and again.cardinality == 4


@pytest.mark.parametrize(
    ("values", "key_type"),
    [
        ([0.1, 1e-300, -2.5, 1 / 3], "float"),
        ([True, False], "bool"),
        (["x", "", "0", "ü"], "str"),
        ([2**63 - 1], "int"),
    ],
)
def test_json_keeps_values_and_types_exactly(values, key_type):
    vocab = CategoryVocab.fit(pl.Series(values), key_type, 1, None)
    doc = vocab.to_json()
    assert all(isinstance(v, str) for v in doc["values"]) and doc["type"] == key_type
    assert CategoryVocab.from_json(doc, "v").values == vocab.values


def test_mismatched_types_name_the_column():
    with pytest.raises(TypeError, match="column 'col' holds str values but was fitted on int categories"):
        _keys(pl.Series(["1"]), "int")
    with pytest.raises(TypeError, match="column 'col' has dtype Date"):
        _keys(pl.Series([None], dtype=pl.Date), "int")
    assert first_non_integral(pl.Series([1.0, float("nan"), 2.5])) == 2.5
    assert first_non_integral(pl.Series([1.0, None, -4.0])) is None


def test_all_null_fit_column_maps_everything_to_zero():
    vocab = CategoryVocab.fit(pl.Series([None, None]), "null", 1, None)
    assert vocab.cardinality == 1
    assert _encode(vocab, _keys(pl.Series([1, None]), "null")) == [0, 0]
