"""Watch-time figures in ``evaluate``: XAUC/XGAUC, errors by video-duration quintile, watch time in seconds."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import polars as pl
import pytest

from reelrec.data import FeatureTable
from reelrec.eval import duration_bucket, duration_edges, evaluate, kuairec_split
from reelrec.models import create_model
from tests.conftest import make_toy_dataset
from tests.eval.models import UserMean
from tests.eval.test_watch_metrics import brute_xauc, brute_xgauc
from tests.eval.watch_data import kuairec_like, with_video_duration

BUCKETS = [f"{e}_dur_q{q}" for e in ("mae", "rmse") for q in range(1, 6)]


@pytest.fixture(scope="module")
def kuairec_block():
    return kuairec_split(kuairec_like())


def _predictions(model, split) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    test = split.test
    pred = model.predict_indices(test.user, test.item).astype(np.float64)
    duration = split.train.item_features.frame["video_duration"].to_numpy().astype(np.float64)[test.item]
    return pred, test.label.astype(np.float64), test.user, duration


def test_evaluate_reports_xauc_buckets_and_watch_time_by_their_definitions(kuairec_block):
    model = create_model("item-mean").fit(kuairec_block.train)
    result = evaluate(model, kuairec_block, ks=(5,))
    pred, label, user, duration = _predictions(model, kuairec_block)
    m = result.metrics
    assert m["xauc"] == pytest.approx(brute_xauc(pred, label), abs=1e-12)
    rows = np.searchsorted(result.users, user)
    per_user, mean = brute_xgauc(pred, label, rows)
    assert m["xgauc"] == pytest.approx(mean, abs=1e-12)
    np.testing.assert_allclose(result.per_user["xgauc"], per_user, atol=1e-6)
    seconds = duration / 1000.0
    assert m["xauc_time"] == pytest.approx(brute_xauc(pred * seconds, label * seconds), abs=1e-12)
    assert m["xgauc_time"] == pytest.approx(brute_xgauc(pred * seconds, label * seconds, rows)[1], abs=1e-12)
    # Watch time reorders pairs across videos of different length: it is another figure.
    assert m["xauc_time"] != m["xauc"]

    edges = np.quantile(duration, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert result.duration_edges == pytest.approx(tuple(edges))
    assert result.to_dict()["duration_edges"] == pytest.approx(list(edges))
    for q in range(5):
        lo, hi = edges[q], edges[q + 1]
        inside = (duration >= lo) & ((duration < hi) if q < 4 else (duration <= hi))
        err = pred[inside] - label[inside]
        assert m[f"mae_dur_q{q + 1}"] == pytest.approx(np.abs(err).mean(), rel=1e-9)
        assert m[f"rmse_dur_q{q + 1}"] == pytest.approx(np.sqrt((err**2).mean()), rel=1e-9)


def test_a_constant_prediction_per_user_ties_every_pair(kuairec_block):
    result = evaluate(UserMean().fit(kuairec_block.train), kuairec_block, ks=(5,))
    defined = result.per_user["xgauc"][~np.isnan(result.per_user["xgauc"])]
    assert len(defined) > 0 and (defined == 0.5).all()
    assert result.metrics["xgauc"] == 0.5


def test_ranking_only_models_get_no_watch_figures(kuairec_block):
    result = evaluate(create_model("popularity").fit(kuairec_block.train), kuairec_block, ks=(5,))
    assert not {"xauc", "xgauc", "xauc_time", *BUCKETS} & set(result.metrics)
    assert len(result.duration_edges) == 6  # the split's edges, the same for every model


def test_without_durations_only_the_label_figures_are_reported():
    split = kuairec_split(make_toy_dataset(n_users=45, n_items=60, per_user=20))  # no video_duration feature
    result = evaluate(create_model("item-mean").fit(split.train), split, ks=(5,))
    assert 0.0 <= result.metrics["xauc"] <= 1.0 and "xgauc" in result.metrics
    assert not {"xauc_time", "xgauc_time", *BUCKETS} & set(result.metrics)
    assert result.duration_edges == ()


def test_durations_of_unknown_units_give_buckets_but_no_watch_time():
    split = kuairec_split(with_video_duration(make_toy_dataset(n_users=45, n_items=60, per_user=20), "generic"))
    result = evaluate(create_model("item-mean").fit(split.train), split, ks=(5,))
    assert set(BUCKETS) <= set(result.metrics)
    assert "xauc_time" not in result.metrics


def test_views_with_unknown_duration_are_left_out_of_the_buckets():
    data = kuairec_like()
    frame = data.item_features.frame
    unknown = pl.Series([None if i % 4 == 0 else v for i, v in enumerate(frame["video_duration"].to_list())])
    feats = FeatureTable(frame.with_columns(unknown.cast(pl.Float64).alias("video_duration")), data.item_features.kinds)
    split = kuairec_split(dataclasses.replace(data, item_features=feats))
    model = create_model("item-mean").fit(split.train)
    result = evaluate(model, split, ks=(5,))
    pred, label, _, duration = _predictions(model, split)
    known = np.isfinite(duration)
    assert 0 < known.sum() < len(known)
    edges = np.quantile(duration[known], np.linspace(0, 1, 6))
    assert result.duration_edges == pytest.approx(tuple(edges))
    seconds = duration[known] / 1000.0
    assert result.metrics["xauc_time"] == pytest.approx(
        brute_xauc(pred[known] * seconds, label[known] * seconds), abs=1e-12
    )
    assert math.isfinite(result.metrics["xauc"])  # the label figures still use every view


def test_bucket_edges_are_quantiles_and_inner_edges_go_up():
    d = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    edges = duration_edges(d)
    np.testing.assert_allclose(edges, np.quantile(d, np.linspace(0, 1, 6)))
    assert duration_bucket(edges, edges).tolist() == [0, 1, 2, 3, 4, 4]
    assert duration_bucket([-1.0, 100.0], edges).tolist() == [0, 4]
    with pytest.raises(ValueError, match="non-empty array of finite"):
        duration_edges([1.0, np.nan])
