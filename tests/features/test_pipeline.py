"""FeaturePipeline: fit-rows-only statistics, OOV/null handling, multi-hot layout, JSON round trip, bad input."""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reelrec.data import FeatureTable
from reelrec.errors import DataWarning, NotFittedError
from reelrec.features import EncodedFeatures, FeaturePipeline, FeatureSpec


def _mixed_table(rng: np.random.Generator, n: int = 200) -> FeatureTable:
    """Every kind and value type at once, with nulls sprinkled in."""
    counts = rng.lognormal(3.0, 1.5, n).round()
    score = rng.normal(5.0, 2.0, n)
    score[rng.random(n) < 0.1] = np.nan
    tags = [[int(t) for t in rng.choice(12, size=rng.integers(0, 4), replace=False)] for _ in range(n)]
    frame = pl.DataFrame(
        {
            "counts": counts,
            "score": score,
            "flag": rng.random(n) < 0.3,
            "color": rng.choice(["red", "green", "blue", "teal"], n),
            "code": rng.integers(0, 7, n),
            "ratio_code": rng.choice([0.5, 1.5, 2.5], n),
            "onehot": rng.integers(0, 40, n),
            "tags": pl.Series(tags, dtype=pl.List(pl.Int64)),
            "words": pl.Series([[f"w{t}" for t in row] for row in tags], dtype=pl.List(pl.String)),
        }
    ).with_columns(pl.when(pl.int_range(pl.len()) % 11 == 3).then(None).otherwise(pl.col("color")).alias("color"))
    kinds = {
        "counts": "numeric",
        "score": "numeric",
        "flag": "categorical",
        "color": "categorical",
        "code": "categorical",
        "ratio_code": "categorical",
        "onehot": "categorical",
        "tags": "multi",
        "words": "multi",
    }
    return FeatureTable(frame, kinds)


def _assert_same(a: EncodedFeatures, b: EncodedFeatures) -> None:
    np.testing.assert_array_equal(a.numeric, b.numeric)
    np.testing.assert_array_equal(a.numeric_missing, b.numeric_missing)
    np.testing.assert_array_equal(a.categorical, b.categorical)
    assert len(a.multi) == len(b.multi)
    for (oa, ca), (ob, cb) in zip(a.multi, b.multi, strict=True):
        np.testing.assert_array_equal(oa, ob)
        np.testing.assert_array_equal(ca, cb)


# -- leakage, cold rows, spec -------------------------------------------------------------------------------


def test_statistics_and_vocab_come_only_from_fit_rows(rng):
    x = np.concatenate([rng.normal(0.0, 1.0, 50), rng.normal(1000.0, 1.0, 50)])
    cat = np.array(["a", "b"] * 25 + ["late"] * 50)
    table = FeatureTable(pl.DataFrame({"x": x, "c": cat}), {"x": "numeric", "c": "categorical"})
    fit_rows = np.arange(50, dtype=np.int32)
    pipe = FeaturePipeline(log1p=False).fit(table, fit_rows)

    stats = pipe.describe()["columns"]["x"]
    assert stats["mean"] == pytest.approx(x[:50].mean())
    assert stats["std"] == pytest.approx(x[:50].std())
    enc = pipe.transform(table)
    assert abs(enc.numeric[:50, 0].mean()) < 1e-5
    assert enc.numeric[:50, 0].std() == pytest.approx(1.0, rel=1e-4)
    assert (enc.numeric[50:, 0] > 100).all()  # held-out rows were not averaged in
    assert (enc.categorical[50:, 0] == 0).all()  # "late" never appeared in the fit rows: OOV
    assert set(enc.categorical[:50, 0].tolist()) == {1, 2}

    # Changing only the held-out rows changes nothing learned.
    x2 = x.copy()
    x2[50:] = -5e6
    cat2 = cat.copy()
    cat2[50:] = "other"
    table2 = FeatureTable(pl.DataFrame({"x": x2, "c": cat2}), {"x": "numeric", "c": "categorical"})
    assert FeaturePipeline(log1p=False).fit(table2, fit_rows).to_json() == pipe.to_json()


def test_boolean_mask_rows_equal_index_rows(rng):
    table = _mixed_table(rng)
    mask = rng.random(len(table)) < 0.5
    a = FeaturePipeline().fit(table, mask)
    b = FeaturePipeline().fit(table, np.flatnonzero(mask).astype(np.int32))
    assert a.to_json() == b.to_json()
    assert a.n_fit_rows_ == int(mask.sum())


def test_cold_rows_encode_with_known_categories(rng):
    table = _mixed_table(rng)
    train = np.arange(0, 120, dtype=np.int32)
    cold = np.arange(120, 200, dtype=np.int32)
    pipe = FeaturePipeline().fit(table, train)
    enc = pipe.transform(table, cold)
    assert len(enc) == len(cold)
    assert np.isfinite(enc.numeric).all()
    colors = table.frame["color"].to_numpy()[cold]
    col = pipe.spec_.categorical_columns.index("color")
    seen_colors = set(table.frame["color"].to_numpy()[train].tolist()) - {None}
    for value, code in zip(colors.tolist(), enc.categorical[:, col].tolist(), strict=True):
        assert (code > 0) == (value in seen_colors)
    # A cold row encodes the same whether transformed alone or inside the full table.
    _assert_same(pipe.transform(table, cold[5:6]), pipe.transform(table).take(cold[5:6]))


def test_spec_matches_encoded_shapes(rng):
    table = _mixed_table(rng)
    pipe = FeaturePipeline().fit(table, np.arange(150, dtype=np.int32))
    spec = pipe.spec_
    assert isinstance(spec, FeatureSpec)
    assert spec.numeric_columns == ["counts", "score"]
    assert spec.categorical_columns == ["flag", "color", "code", "ratio_code", "onehot"]
    assert spec.multi_columns == ["tags", "words"]
    assert spec.numeric_missing_columns == ["score"]
    enc = pipe.transform(table)
    assert enc.numeric.shape == (200, 2) and enc.numeric.dtype == np.float32
    assert enc.numeric_missing.shape == (200, 1) and enc.numeric_missing.dtype == np.float32
    assert enc.categorical.shape == (200, 5) and enc.categorical.dtype == np.int64
    for j, card in enumerate(spec.categorical_cardinalities):
        assert enc.categorical[:, j].max() < card
    assert spec.categorical_cardinalities[1] == 5  # 4 colours + the 0 bucket
    for (offsets, codes), card in zip(enc.multi, spec.multi_cardinalities, strict=True):
        assert offsets.dtype == np.int64 and codes.dtype == np.int64
        assert codes.max() < card
    np.testing.assert_array_equal(enc.numeric_missing[:, 0], np.isnan(table.frame["score"].to_numpy()))
    arrays = [enc.numeric, enc.numeric_missing, enc.categorical, *[a for pair in enc.multi for a in pair]]
    assert all(a.flags.writeable and a.flags.c_contiguous for a in arrays)  # torch.from_numpy-ready


def test_columns_selects_and_orders_output(rng):
    table = _mixed_table(rng)
    pipe = FeaturePipeline(columns=["code", "score", "tags", "color"]).fit(table)
    assert pipe.spec_.categorical_columns == ["code", "color"]
    assert pipe.spec_.numeric_columns == ["score"]
    assert pipe.spec_.multi_columns == ["tags"]
    # Columns that were not selected may be absent from the table at transform time.
    enc = pipe.transform(table.select(["tags", "color", "score", "code"]))
    _assert_same(enc, pipe.transform(table))


# -- missing, OOV and value types ---------------------------------------------------------------------------


def test_null_nan_inf_and_unseen_values_encode_as_zero():
    train = FeatureTable(
        pl.DataFrame({"x": [1.0, 2.0, 3.0, None], "c": ["a", "b", "a", None], "i": [10, 20, 10, 30]}),
        {"x": "numeric", "c": "categorical", "i": "categorical"},
    )
    pipe = FeaturePipeline(log1p=False).fit(train)
    test = FeatureTable(
        pl.DataFrame(
            {
                "x": [float("nan"), float("inf"), None, 2.0, -float("inf")],
                "c": ["zzz", None, "a", "b", "a"],
                "i": [None, 99, 10, 20, 30],
            }
        ),
        {"x": "numeric", "c": "categorical", "i": "categorical"},
    )
    enc = pipe.transform(test)
    np.testing.assert_array_equal(enc.numeric[:, 0], [0.0, 0.0, 0.0, 0.0, 0.0])  # 2.0 is the fit mean
    np.testing.assert_array_equal(enc.numeric_missing[:, 0], [1.0, 1.0, 1.0, 0.0, 1.0])
    codes_c = enc.categorical[:, 0]
    assert codes_c[0] == 0 and codes_c[1] == 0 and codes_c[2] > 0 and codes_c[3] > 0
    assert codes_c[2] == codes_c[4] != codes_c[3]
    codes_i = enc.categorical[:, 1]
    assert codes_i[0] == 0 and codes_i[1] == 0
    assert codes_i[2] == 1  # 10 is the most frequent: code 1
    assert len({codes_i[2], codes_i[3], codes_i[4]}) == 3


def test_no_missing_indicator_for_columns_complete_in_fit():
    table = FeatureTable(pl.DataFrame({"x": [1.0, 2.0, None], "y": [1.0, 2.0, 3.0]}), {"x": "numeric", "y": "numeric"})
    pipe = FeaturePipeline(log1p=False).fit(table, np.array([0, 1], dtype=np.int32))
    assert pipe.spec_.numeric_missing_columns == []
    enc = pipe.transform(table)
    assert enc.numeric_missing.shape == (3, 0)
    assert enc.numeric[2, 0] == 0.0  # still the mean for the cold row


def test_categorical_value_types_survive_json_exactly(tmp_path):
    frame = pl.DataFrame(
        {
            "f": [0.1, 2.5, -0.0, 0.0, 1e300, None],
            "b": [True, False, True, None, True, False],
            "big": [2**62, -(2**62), 7, 7, None, 4_000_000_000],
            "s": ["0.1", "", "é", "a b", None, "1"],
        }
    )
    table = FeatureTable(frame, dict.fromkeys(frame.columns, "categorical"))
    pipe = FeaturePipeline().fit(table)
    path = tmp_path / "features.json"
    path.write_text(json.dumps(pipe.to_json()))
    loaded = FeaturePipeline.from_json(json.loads(path.read_text()))
    assert loaded.to_json() == pipe.to_json()
    _assert_same(loaded.transform(table), pipe.transform(table))
    enc = pipe.transform(table)
    f_codes = enc.categorical[:, 0]
    assert f_codes[2] == f_codes[3] > 0  # -0.0 and 0.0 are one category
    assert (enc.categorical[:5] > 0).sum() == 5 * 4 - 3  # the three nulls in rows 0..4 are 0
    described = loaded.describe()["columns"]
    assert {described[c]["value_type"] for c in frame.columns} == {"float", "bool", "int", "str"}
    assert 2**62 in [v for v, _ in described["big"]["top"]]


def test_integer_categories_accept_integral_floats_and_reject_strings():
    fit = FeatureTable(pl.DataFrame({"c": [1, 2, 2, 3]}), {"c": "categorical"})
    pipe = FeaturePipeline().fit(fit)
    as_float = FeatureTable(pl.DataFrame({"c": [2.0, float("nan"), 3.0, 9.0]}), {"c": "categorical"})
    np.testing.assert_array_equal(pipe.transform(as_float).categorical[:, 0], [1, 0, 3, 0])
    with pytest.raises(TypeError, match=r"'c'.*non-integer value 2\.5"):
        pipe.transform(FeatureTable(pl.DataFrame({"c": [2.5]}), {"c": "categorical"}))
    with pytest.raises(TypeError, match=r"'c' holds str values but was fitted on int"):
        pipe.transform(FeatureTable(pl.DataFrame({"c": ["2"]}), {"c": "categorical"}))


def test_min_count_and_max_categories():
    values = ["a"] * 5 + ["b"] * 4 + ["c"] * 2 + ["d"]
    table = FeatureTable(pl.DataFrame({"c": values, "t": [[v] for v in values]}), {"c": "categorical", "t": "multi"})
    pipe = FeaturePipeline(min_count=2).fit(table)
    assert pipe.spec_.categorical_cardinalities == [4]
    assert pipe.spec_.multi_cardinalities == [4]
    codes = pipe.transform(table).categorical[:, 0]
    assert codes[values.index("a")] == 1 and codes[values.index("b")] == 2 and codes[values.index("d")] == 0
    capped = FeaturePipeline(max_categories=2).fit(table)
    assert capped.spec_.categorical_cardinalities == [3]
    codes = capped.transform(table).categorical[:, 0]
    assert set(codes[[values.index("c"), values.index("d")]].tolist()) == {0}
    assert capped.describe()["columns"]["c"]["dropped_to_oov"] == 2


def test_frequency_ties_break_by_value_for_reproducible_codes():
    table = FeatureTable(pl.DataFrame({"c": ["z", "y", "x", "x"]}), {"c": "categorical"})
    enc = FeaturePipeline().fit(table).transform(table)
    np.testing.assert_array_equal(enc.categorical[:, 0], [3, 2, 1, 1])


# -- multi-valued columns -----------------------------------------------------------------------------------


def test_multi_offsets_and_codes():
    lists = pl.Series([[5, 7], [7], [9, 5, 7]], dtype=pl.List(pl.Int64))
    fit = FeatureTable(pl.DataFrame({"t": lists}), {"t": "multi"})
    pipe = FeaturePipeline().fit(fit)
    # Vocabulary by frequency: 7 (3x) -> 1, 5 (2x) -> 2, 9 (1x) -> 3.
    rows = [[7, 5], None, [], [11, None, 9], [7, 7]]
    test = FeatureTable(pl.DataFrame({"t": pl.Series(rows, dtype=pl.List(pl.Int64))}), {"t": "multi"})
    (offsets, codes), = pipe.transform(test).multi
    vocab = {7: 1, 5: 2, 9: 3}
    expected = [[vocab.get(v, 0) for v in (r or []) if v is not None] for r in rows]
    np.testing.assert_array_equal(offsets, np.cumsum([0] + [len(e) for e in expected]))
    np.testing.assert_array_equal(codes, [c for e in expected for c in e])
    assert offsets.tolist() == [0, 2, 2, 2, 4, 6]
    assert codes.tolist() == [1, 2, 0, 3, 1, 1]


def test_multi_row_subsets_match_full_transform(rng):
    table = _mixed_table(rng)
    pipe = FeaturePipeline().fit(table, np.arange(100, dtype=np.int32))
    rows = rng.integers(0, len(table), 57).astype(np.int32)
    _assert_same(pipe.transform(table, rows), pipe.transform(table).take(rows))


# -- numeric scaling ----------------------------------------------------------------------------------------


def test_auto_log1p_picks_heavy_tailed_counters(rng):
    n = 500
    frame = pl.DataFrame(
        {
            "views": rng.pareto(1.2, n) * 100,
            "age": rng.normal(35, 8, n),
            "flag01": (rng.random(n) < 0.02).astype(np.float64),
            "signed": rng.standard_t(2, n) * 100,
            "code": rng.pareto(1.0, n).astype(np.int64),
        }
    )
    kinds = {"views": "numeric", "age": "numeric", "flag01": "numeric", "signed": "numeric", "code": "categorical"}
    table = FeatureTable(frame, kinds)
    desc = FeaturePipeline(as_numeric=["code"]).fit(table).describe()["columns"]
    assert desc["views"]["log1p"] is True
    assert desc["age"]["log1p"] is False
    assert desc["flag01"]["log1p"] is False  # a 0/1 flag is not a counter
    assert desc["signed"]["log1p"] is False  # negative values
    assert desc["code"]["log1p"] is False  # codes treated as numbers are never log-transformed by 'auto'
    assert desc["views"]["mean"] == pytest.approx(np.log1p(frame["views"].to_numpy()).mean())


def test_log1p_explicit_list_true_and_false(rng):
    x = rng.lognormal(2.0, 1.0, 100)
    table = FeatureTable(pl.DataFrame({"x": x, "y": x.copy()}), {"x": "numeric", "y": "numeric"})
    desc = FeaturePipeline(log1p=["y"]).fit(table).describe()["columns"]
    assert (desc["x"]["log1p"], desc["y"]["log1p"]) == (False, True)
    assert FeaturePipeline(log1p=True).fit(table).describe()["columns"]["x"]["log1p"] is True
    assert FeaturePipeline(log1p=False).fit(table).describe()["columns"]["y"]["log1p"] is False
    enc = FeaturePipeline(log1p=True).fit(table).transform(table)
    expected = (np.log1p(x) - np.log1p(x).mean()) / np.log1p(x).std()
    np.testing.assert_allclose(enc.numeric[:, 0], expected, rtol=1e-5, atol=1e-6)


def test_as_numeric_standardises_codes(rng):
    codes = rng.integers(0, 10, 50)
    table = FeatureTable(pl.DataFrame({"onehot": codes}), {"onehot": "categorical"})
    pipe = FeaturePipeline(as_numeric=["onehot"]).fit(table)
    assert pipe.spec_.numeric_columns == ["onehot"] and pipe.spec_.categorical_columns == []
    np.testing.assert_allclose(pipe.transform(table).numeric[:, 0], (codes - codes.mean()) / codes.std(), rtol=1e-5)


def test_constant_and_empty_columns_encode_as_zero():
    table = FeatureTable(
        pl.DataFrame({"k": [3.0, 3.0, 3.0], "z": [0.1, 0.1, 0.1], "none": [None, None, 1.0]}),
        {"k": "numeric", "z": "numeric", "none": "numeric"},
    )
    with pytest.warns(DataWarning, match="'none' has no value in the fit rows"):
        pipe = FeaturePipeline().fit(table, np.array([0, 1], dtype=np.int32))
    desc = pipe.describe()["columns"]
    assert desc["k"]["std"] == 1.0 and desc["z"]["std"] == 1.0
    enc = pipe.transform(table)
    np.testing.assert_array_equal(enc.numeric[:, :2], 0.0)
    assert enc.numeric[2, 2] == 1.0  # mean 0, std 1 for a column with nothing to learn from


def test_extreme_and_negative_unseen_values_warn_and_stay_finite():
    fit = FeatureTable(pl.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 100.0, 5.0]}), {"x": "numeric"})
    pipe = FeaturePipeline(log1p=["x"]).fit(fit)
    with pytest.warns(DataWarning, match=r"negative values in log1p columns \['x'\]"):
        neg = pipe.transform(FeatureTable(pl.DataFrame({"x": [-3.0]}), {"x": "numeric"}))
    assert neg.numeric[0, 0] == pipe.transform(FeatureTable(pl.DataFrame({"x": [0.0]}), {"x": "numeric"})).numeric[0, 0]
    lin = FeaturePipeline(log1p=False).fit(fit)
    with pytest.warns(DataWarning, match="clipped"):
        huge = lin.transform(FeatureTable(pl.DataFrame({"x": [1e300, -1e300]}), {"x": "numeric"}))
    assert np.isfinite(huge.numeric).all() and huge.numeric[0, 0] > 0 > huge.numeric[1, 0]


# -- round trip, API, bad input -----------------------------------------------------------------------------


def test_json_round_trip_gives_identical_transform(tmp_path, rng):
    table = _mixed_table(rng)
    pipe = FeaturePipeline(min_count=2, max_categories=30, as_numeric=["onehot"]).fit(table, np.arange(150))
    path = tmp_path / "pipe.json"
    path.write_text(json.dumps(pipe.to_json(), allow_nan=False))
    loaded = FeaturePipeline.from_json(json.loads(path.read_text()))
    assert loaded.to_json() == pipe.to_json()
    assert loaded.spec_ == pipe.spec_
    assert loaded.get_params() == pipe.get_params()
    _assert_same(loaded.transform(table), pipe.transform(table))


def test_unfitted_pipeline_round_trips_and_refuses_to_transform(rng):
    pipe = FeaturePipeline(columns=["code"], log1p=["x"], min_count=3)
    again = FeaturePipeline.from_json(json.loads(json.dumps(pipe.to_json())))
    assert again.get_params() == pipe.get_params()
    with pytest.raises(NotFittedError, match="not fitted"):
        again.transform(_mixed_table(rng))
    with pytest.raises(NotFittedError):
        again.describe()


def test_fit_returns_self_and_fit_transform_matches(rng):
    table = _mixed_table(rng)
    pipe = FeaturePipeline()
    assert pipe.fit(table) is pipe
    _assert_same(FeaturePipeline().fit_transform(table), pipe.transform(table))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(version=99), "version 99"),
        (lambda d: d.update(format="other"), "format is 'other'"),
        (lambda d: d.pop("params"), r"lacks keys \['params'\]"),
        (lambda d: d["params"].update(min_count=0), "min_count=0"),
        (lambda d: d["params"].update(extra=1), "exactly the keys"),
        (lambda d: d["fitted"]["columns"][0].pop("scaling"), r"columns\[0\].*scaling"),
        (lambda d: d["fitted"]["columns"][0]["scaling"].update(std=0.0), "std"),
        (lambda d: d["fitted"]["columns"][2]["vocab"].update(type="complex"), r"columns\[2\]\.vocab\.type"),
        (lambda d: d["fitted"]["columns"][2]["vocab"]["values"].append("x"), r"columns\[2\]\.vocab\.counts"),
        (
            lambda d: d["fitted"]["columns"][4]["vocab"].update(values=["1", "x"], counts=[2, 1]),
            r"columns\[4\]\.vocab\.values.*invalid literal",
        ),
        (lambda d: d["fitted"].update(n_fit_rows=-1), "n_fit_rows"),
    ],
)
def test_from_json_rejects_bad_documents(rng, change, message):
    table = _mixed_table(rng, n=40)
    doc = json.loads(json.dumps(FeaturePipeline().fit(table).to_json()))
    change(doc)
    with pytest.raises(ValueError, match=message):
        FeaturePipeline.from_json(doc)


def test_unknown_column_is_named(rng):
    with pytest.raises(ValueError, match="unknown feature column 'nope'"):
        FeaturePipeline(columns=["code", "nope"]).fit(_mixed_table(rng))
    with pytest.raises(ValueError, match="as_numeric names column 'ghost'"):
        FeaturePipeline(as_numeric=["ghost"]).fit(_mixed_table(rng))
    with pytest.raises(ValueError, match="log1p names column 'ghost'"):
        FeaturePipeline(log1p=["ghost"]).fit(_mixed_table(rng))


def test_wrong_kind_is_named(rng):
    frame = pl.DataFrame({"s": ["1", "2"], "n": [1, 2], "l": [[1], [2]]})
    with pytest.raises(TypeError, match="'s' is encoded as numeric but holds String"):
        FeaturePipeline().fit(FeatureTable(frame, {"s": "numeric"}))
    with pytest.raises(TypeError, match="'n' is declared multi but has dtype Int64"):
        FeaturePipeline().fit(FeatureTable(frame, {"n": "multi"}))
    with pytest.raises(TypeError, match="'l' is declared categorical"):
        FeaturePipeline().fit(FeatureTable(frame, {"l": "categorical"}))
    with pytest.raises(TypeError, match="as_numeric names column 'tags', which is multi-valued"):
        FeaturePipeline(as_numeric=["tags"]).fit(_mixed_table(rng))
    with pytest.raises(TypeError, match="log1p names column 'color', which is categorical"):
        FeaturePipeline(log1p=["color"]).fit(_mixed_table(rng))
    with pytest.raises(ValueError, match="'x' has negative values"):
        FeaturePipeline(log1p=True).fit(FeatureTable(pl.DataFrame({"x": [-1.0, 2.0]}), {"x": "numeric"}))


def test_transform_table_must_match_fitted_columns(rng):
    table = _mixed_table(rng, n=40)
    pipe = FeaturePipeline(columns=["code", "score"]).fit(table)
    with pytest.raises(ValueError, match="'score' was fitted but is missing"):
        pipe.transform(table.select(["code"]))
    relabelled = FeatureTable(table.frame, {**table.kinds, "code": "numeric"})
    with pytest.raises(TypeError, match="'code' is numeric in this table but was fitted as categorical"):
        pipe.transform(relabelled)


@pytest.mark.parametrize(
    ("rows", "error", "message"),
    [
        (np.array([0, 40]), ValueError, r"1 of 2 rows are outside \[0, 40\), e\.g\. 40"),
        (np.array([-1]), ValueError, "outside"),
        (np.array([0.5]), TypeError, "integer entity indices"),
        (np.ones(3, dtype=bool), ValueError, "mask has length 3, expected 40"),
        (np.zeros((2, 2), dtype=np.int32), ValueError, "one-dimensional"),
    ],
)
def test_bad_rows_are_rejected(rng, rows, error, message):
    table = _mixed_table(rng, n=40)
    with pytest.raises(error, match=message):
        FeaturePipeline().fit(table, rows)
    with pytest.raises(error, match=message):
        FeaturePipeline().fit(table).transform(table, rows)


def test_bad_parameters_are_named(rng):
    table = _mixed_table(rng, n=20)
    for kwargs, message in (
        ({"min_count": 0}, "min_count=0"),
        ({"max_categories": 0}, "max_categories=0"),
        ({"log1p": "sometimes"}, "log1p='sometimes'"),
        ({"columns": ["code", "code"]}, "twice"),
    ):
        with pytest.raises(ValueError, match=message):
            FeaturePipeline(**kwargs).fit(table)
    with pytest.raises(TypeError, match="columns must be a list"):
        FeaturePipeline(columns="code").fit(table)
    with pytest.raises(ValueError, match="rows is empty"):
        FeaturePipeline().fit(table, np.zeros(0, dtype=np.int32))


def test_transform_is_fast_enough(rng):
    """10k rows x 60 columns well under 100 ms (generous bound here: the test machine is shared)."""
    n = 10_000
    cols: dict[str, object] = {}
    kinds = {}
    for j in range(30):
        cols[f"n{j}"] = rng.lognormal(1.0, 1.0, n)
        kinds[f"n{j}"] = "numeric"
    for j in range(25):
        cols[f"c{j}"] = rng.integers(0, 50 + 40 * j, n)
        kinds[f"c{j}"] = "categorical"
    for j in range(5):
        cols[f"m{j}"] = pl.Series([[int(v)] * (int(v) % 4) for v in rng.integers(0, 30, n)], dtype=pl.List(pl.Int64))
        kinds[f"m{j}"] = "multi"
    table = FeatureTable(pl.DataFrame(cols), kinds)
    pipe = FeaturePipeline().fit(table, np.arange(8000, dtype=np.int32))
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        pipe.transform(table)
        timings.append(time.perf_counter() - start)
    assert np.median(timings) < 0.5, f"transform took {np.median(timings) * 1000:.0f} ms"


# -- property test ------------------------------------------------------------------------------------------

_floats = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5).map(float))
_cats = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "é", ""]))
_ints = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.integers(0, 3))
_lists = st.one_of(st.none(), st.lists(st.one_of(st.none(), st.integers(0, 6)), max_size=4))


@st.composite
def _tables(draw: st.DrawFn) -> tuple[FeatureTable, np.ndarray]:
    n = draw(st.integers(1, 25))
    frame = pl.DataFrame(
        {
            "x": pl.Series(draw(st.lists(_floats, min_size=n, max_size=n)), dtype=pl.Float64),
            "y": pl.Series(draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n)), dtype=pl.Int64),
            "s": pl.Series(draw(st.lists(_cats, min_size=n, max_size=n)), dtype=pl.String),
            "i": pl.Series(draw(st.lists(_ints, min_size=n, max_size=n)), dtype=pl.Int64),
            "f": pl.Series(draw(st.lists(_floats, min_size=n, max_size=n)), dtype=pl.Float64),
            "t": pl.Series(draw(st.lists(_lists, min_size=n, max_size=n)), dtype=pl.List(pl.Int64)),
        }
    )
    kinds = {"x": "numeric", "y": "numeric", "s": "categorical", "i": "categorical", "f": "categorical", "t": "multi"}
    mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if not mask.any():
        mask[0] = True
    return FeatureTable(frame, kinds), np.flatnonzero(mask).astype(np.int32)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_tables(), log1p=st.sampled_from(["auto", False, ["y"]]), min_count=st.integers(1, 3))
def test_property_shapes_dtypes_and_finite_values(data, log1p, min_count):
    table, fit_rows = data
    n = len(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        pipe = FeaturePipeline(log1p=log1p, min_count=min_count, as_numeric=None).fit(table, fit_rows)
        enc = pipe.transform(table)
        loaded = FeaturePipeline.from_json(json.loads(json.dumps(pipe.to_json(), allow_nan=False)))
        again = loaded.transform(table)
        subset = pipe.transform(table, fit_rows[::-1])
    spec = pipe.spec_
    assert enc.numeric.shape == (n, 2) and enc.numeric.dtype == np.float32
    assert np.isfinite(enc.numeric).all()
    assert enc.numeric_missing.shape == (n, len(spec.numeric_missing_columns))
    assert set(np.unique(enc.numeric_missing).tolist()) <= {0.0, 1.0}
    assert enc.categorical.shape == (n, 3) and enc.categorical.dtype == np.int64
    assert (enc.categorical >= 0).all()
    assert (enc.categorical < np.array(spec.categorical_cardinalities)).all()
    (offsets, codes), = enc.multi
    assert offsets.shape == (n + 1,) and offsets[0] == 0 and offsets[-1] == len(codes)
    assert (np.diff(offsets) >= 0).all()
    assert ((codes >= 0) & (codes < spec.multi_cardinalities[0])).all()
    _assert_same(enc, again)
    _assert_same(subset, enc.take(fit_rows[::-1]))


def test_empty_rows_and_no_columns_keep_their_shapes(rng):
    table = _mixed_table(rng, n=30)
    pipe = FeaturePipeline().fit(table)
    enc = pipe.transform(table, np.zeros(0, dtype=np.int32))
    assert len(enc) == 0
    assert enc.numeric.shape == (0, 2) and enc.categorical.shape == (0, 5)
    assert all(offsets.tolist() == [0] and len(codes) == 0 for offsets, codes in enc.multi)
    nothing = FeaturePipeline(columns=[]).fit(table, np.arange(10))
    assert nothing.n_fit_rows_ == 10
    enc = nothing.transform(table)
    assert enc.numeric.shape == (30, 0) and enc.categorical.shape == (30, 0) and enc.multi == []


def test_as_numeric_rejects_string_codes():
    table = FeatureTable(pl.DataFrame({"bucket": ["0", "(0,10]"]}), {"bucket": "categorical"})
    with pytest.raises(TypeError, match="'bucket' is in as_numeric but holds String values"):
        FeaturePipeline(as_numeric=["bucket"]).fit(table)


def test_toy_dataset_features_encode(toy_dataset):
    """The shared toy data set's user and item tables go through end to end."""
    train_items = np.unique(toy_dataset.interactions.item)
    pipe = FeaturePipeline().fit(toy_dataset.item_features, train_items)
    enc = pipe.transform(toy_dataset.item_features)
    assert len(enc) == toy_dataset.n_items
    assert pipe.spec_.multi_columns == ["tags"]
    offsets, codes = enc.multi[0]
    lengths = toy_dataset.item_features.frame["tags"].list.len().to_numpy()
    np.testing.assert_array_equal(np.diff(offsets), lengths)
    assert (codes > 0).all()  # every tag of the toy set occurs among training items
    users = FeaturePipeline().fit(toy_dataset.user_features).describe()["columns"]
    assert users["follows"]["log1p"] is True  # lognormal counts: heavy right tail
