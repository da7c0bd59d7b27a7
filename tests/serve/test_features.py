"""Cold-start features: JSON values become a one-row FeatureTable the real feature pipeline can encode."""

from __future__ import annotations

import polars as pl
import pytest

from reelrec.features import FeaturePipeline
from reelrec.serve.features import FeatureInputError, feature_table

KINDS = {"activity": "categorical", "code": "categorical", "follows": "numeric", "age": "numeric", "tags": "multi"}


def test_values_become_typed_columns_and_absent_ones_null():
    table = feature_table({"activity": "high", "code": 2, "age": 31, "tags": [1, 7]}, KINDS)
    assert len(table) == 1 and table.kinds == KINDS and table.columns == list(KINDS)
    frame = table.frame
    assert frame.schema["activity"] == pl.String and frame["activity"][0] == "high"
    assert frame.schema["code"] == pl.Int64
    assert frame.schema["age"] == pl.Float64 and frame["age"][0] == 31.0
    assert frame.schema["tags"] == pl.List(pl.Int64) and frame["tags"][0].to_list() == [1, 7]
    assert frame["follows"].is_null().all()


@pytest.mark.parametrize(
    ("values", "field", "match"),
    [
        ({"nope": 1}, "nope", "unknown feature 'nope'"),
        ({"age": "old"}, "age", "numeric; expected a number"),
        ({"age": True}, "age", "numeric"),
        ({"age": float("inf")}, "age", "finite"),
        ({"tags": "1,7"}, "tags", "expected a list"),
        ({"tags": [1, "x"]}, "tags", "list of strings or a list of integers"),
        ({"tags": [[1]]}, "tags", "list of strings"),
        ({"activity": ["a"]}, "activity", "categorical"),
    ],
)
def test_bad_values_name_the_column(values, field, match):
    with pytest.raises(FeatureInputError, match=match) as info:
        feature_table(values, KINDS)
    assert info.value.field == field


def test_artifact_without_user_features_refuses_cold_start():
    with pytest.raises(FeatureInputError, match="no user feature columns"):
        feature_table({}, {})


def test_the_fitted_pipeline_encodes_a_request_row(toy_dataset):
    users = toy_dataset.user_features
    pipe = FeaturePipeline().fit(users)
    row = feature_table({"activity": "high", "code": 1, "follows": 5.0}, users.kinds)
    enc = pipe.transform(row)
    want = pipe.transform(users, rows=[int((users.frame["activity"] == "high").arg_true()[0])])
    # Same category code for the same value; the missing age encodes like any missing number.
    assert enc.categorical.shape == (1, 2)
    assert enc.categorical[0, 0] == want.categorical[0, 0] != 0
    # An all-null row still encodes (every column missing).
    assert pipe.transform(feature_table({}, users.kinds)).categorical.tolist() == [[0, 0]]
