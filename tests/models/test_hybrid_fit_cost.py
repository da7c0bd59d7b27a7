"""The hybrid fit's cost machinery: progress bar, per-phase seconds, and the fast solvers against plain numpy."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import scipy.sparse as sp
from tests.models.test_hybrid import two_clusters

from reelrec.models import Recommender, create_model
from reelrec.models._ease import ease_matrix, ease_scores
from reelrec.models._hybrid import Hybrid
from reelrec.models._hybrid_choices import earns_weight
from reelrec.models._hybrid_progress import FitClock
from reelrec.models._hybrid_state import get_state, set_state
from reelrec.models._hybrid_valid import impression_ndcg
from reelrec.models._mf import biased_als
from reelrec.models._ridge_rows import row_batches, solve_rows

SMALL = {"embedding_size": 4, "epochs": 4, "mf_regs": [0.5, 2.0], "ease_scales": [1.0, 8.0], "max_validation_users": 60}
PHASES = {"prepare", "features", "choose mf", "choose ease", "choose blend", "choose cold", "refit mf", "maps"}


@pytest.fixture(scope="module")
def fitted() -> Hybrid:
    return Hybrid(**SMALL).fit(two_clusters())


# ------------------------------------------------------------------------------------------ progress
def test_progress_defaults_to_auto_and_prints_nothing_off_a_terminal(fitted, capsys):
    assert fitted.progress == "auto"  # like the two-tower: a bar on a terminal, silence in logs and tests
    Hybrid(**SMALL).fit(two_clusters())
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_progress_bar_prints_to_stderr_and_finishes(capsys):
    model = create_model("hybrid", progress=True, **SMALL)
    assert isinstance(model, Hybrid) and model.progress is True
    model.fit(two_clusters())
    err = capsys.readouterr().err
    assert "hybrid fit" in err
    assert "100%" in err and "done" in err


def test_progress_auto_stays_quiet_off_a_terminal_and_bad_values_are_named(capsys):
    Hybrid(progress="auto", **SMALL).fit(two_clusters())  # pytest's captured stderr is no terminal
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError, match="progress='loud'"):
        Hybrid(progress="loud", **SMALL).fit(two_clusters())  # type: ignore[arg-type]


def test_progress_is_a_run_option_not_saved_with_the_model(tmp_path):
    model = Hybrid(progress=True, **SMALL).fit(two_clusters())
    path = model.save(tmp_path / "hybrid")
    spec = json.loads((path / "model.json").read_text())
    assert "progress" not in spec["params"]
    assert spec["params"]["embedding_size"] == 4  # the hyperparameters are there
    assert "progress" in Hybrid.run_params
    loaded = Recommender.load(path)
    assert isinstance(loaded, Hybrid) and loaded.progress == "auto"  # the default, not what the fit used


def test_clock_grows_its_plan_and_never_passes_it():
    clock = FitClock(10.0, show=False)
    with clock.phase("a"):
        clock.advance(8.0)
    with clock.phase("a"):
        clock.advance(8.0)  # more work than planned: the plan grows
    assert clock._done <= clock._plan
    clock.add_plan(-100.0)  # shrinking never goes below what is done
    assert clock._plan >= clock._done
    seconds = clock.close()
    assert set(seconds) == {"a"} and seconds["a"] >= 0


# ---------------------------------------------------------------------------------------- breakdown
def test_fit_seconds_cover_the_phases_and_sum_below_the_fit():
    model = Hybrid(**SMALL)
    start = time.perf_counter()
    model.fit(two_clusters())
    wall = time.perf_counter() - start
    seconds = model.fit_seconds_
    assert set(seconds) >= PHASES
    assert all(v >= 0 for v in seconds.values())
    assert 0 < sum(seconds.values()) <= wall + 0.01


def test_fit_seconds_survive_save_and_load(fitted, tmp_path):
    loaded = Recommender.load(fitted.save(tmp_path / "hybrid"))
    assert isinstance(loaded, Hybrid)
    assert loaded.fit_seconds_ == pytest.approx(fitted.fit_seconds_)


def test_artifacts_without_fit_seconds_still_load(fitted):
    tensors, extra = get_state(fitted)
    assert "fit_seconds" in extra
    del extra["fit_seconds"]
    fresh = Hybrid(**SMALL)
    set_state(fresh, tensors, extra)
    assert fresh.fit_seconds_ == {}


# ------------------------------------------------------------------------------------------ solvers
def _ridge_by_row(indptr, cols, target, design, reg, weight=None, prior=None):
    """Plain per-row numpy.linalg.solve of the quadratic solve_rows documents."""
    k = design.shape[1]
    out = np.zeros((len(indptr) - 1, k))
    for r in range(len(indptr) - 1):
        sl = slice(indptr[r], indptr[r + 1])
        x = design[cols[sl]].astype(np.float64)
        w = np.ones(len(x)) if weight is None else weight[sl].astype(np.float64)
        a = x.T @ (w[:, None] * x) + reg * np.eye(k) + (0 if prior is None else prior)
        out[r] = np.linalg.solve(a, x.T @ target[sl].astype(np.float64))
    return out


@pytest.mark.parametrize("weighted", [False, True])
def test_solve_rows_matches_per_row_numpy_solve(rng, weighted):
    n_rows, n_other, k = 70, 25, 5
    counts = rng.integers(0, 30, n_rows)  # some rows empty, lengths spread over batches
    indptr = np.r_[0, np.cumsum(counts)].astype(np.int64)
    cols = rng.integers(0, n_other, indptr[-1]).astype(np.int32)
    target = rng.normal(size=indptr[-1]).astype(np.float32)
    design = rng.normal(size=(n_other, k)).astype(np.float32)
    weight = prior = None
    if weighted:
        weight = rng.uniform(0, 3, indptr[-1]).astype(np.float32)
        half = rng.normal(size=(k, k))
        prior = half @ half.T
    expected = _ridge_by_row(indptr, cols, target, design, 0.7, weight, prior)
    # A small budget forces many batches; reused batches give the same answer.
    got = solve_rows(indptr, cols, target, design, 0.7, 64, weight=weight, prior=prior)
    batches = row_batches(indptr, cols, n_other, k, 64)
    again = solve_rows(indptr, cols, target, design, 0.7, weight=weight, prior=prior, batches=batches)
    assert len(batches.rows) > 3
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(again, got)
    assert not got[counts == 0].any()


def test_biased_als_half_sweeps_are_exact_ridge_solves(rng):
    """After the last sweep, the item side is the exact ridge solution given the user side."""
    n_users, n_items, k, reg = 30, 20, 3, 0.5
    pairs = np.array([(u, i) for u in range(n_users) for i in range(n_items) if rng.random() < 0.4])
    user, item = pairs[:, 0].astype(np.int32), pairs[:, 1].astype(np.int32)
    y = rng.normal(size=len(user)).astype(np.float32)
    p, b, q, c = biased_als(user, item, y, n_users, n_items, k, reg, 3, np.random.default_rng(0))
    design = np.hstack([p, np.ones((n_users, 1), np.float32)])
    by_item = np.argsort(item, kind="stable")
    indptr = np.r_[0, np.cumsum(np.bincount(item, minlength=n_items))]
    expected = _ridge_by_row(indptr, user[by_item], y[by_item] - b[user[by_item]], design, reg)
    np.testing.assert_allclose(np.hstack([q, c[:, None]]), expected, rtol=1e-3, atol=1e-4)


def test_ease_matrix_and_scores_match_a_plain_inverse(rng):
    x = sp.csr_matrix((rng.random((80, 30)) < 0.2).astype(np.float32))
    gram = (x.T @ x).toarray().astype(np.float64)
    before = gram.copy()
    inv = np.linalg.inv(gram + 3.0 * np.eye(30))
    expected = -inv / np.diag(inv)[None, :]
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(ease_matrix(gram, 3.0), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(gram, before)  # not modified without overwrite
    np.testing.assert_allclose(ease_scores(gram, 3.0, x[:10]), x[:10] @ expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ease_matrix(gram.copy(), 3.0, overwrite=True), expected, rtol=1e-5, atol=1e-6)


def test_earns_weight_tells_a_useful_part_from_noise(rng):
    n_users, n_items = 40, 12
    user = np.repeat(np.arange(n_users, dtype=np.int32), n_items)
    item = np.tile(np.arange(n_items, dtype=np.int32), n_users)
    gain = rng.uniform(0, 3, len(user))

    def judge(s):
        return impression_ndcg(user, s[user, item], gain)

    truth = gain.reshape(n_users, n_items).astype(np.float32)
    noise = rng.normal(size=(n_users, n_items)).astype(np.float32)
    assert not earns_weight(judge, truth, noise, 10)
    assert earns_weight(judge, noise, truth, 10)


def test_dense_item_gram_matches_the_sparse_product(rng, monkeypatch):
    import reelrec.models._ease as ease

    x = sp.csr_matrix((rng.random((300, 40)) < 0.3).astype(np.float32))  # dense enough for the BLAS path
    monkeypatch.setattr(ease, "_GRAM_BLOCK_CELLS", 40 * 32)  # several blocks of 32 users
    expected = (x.T @ x).toarray()
    got = ease.item_gram(x)
    assert got.dtype == np.float64 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(ease.item_gram(x, np.array([3, 7], np.int32)), expected[:, [3, 7]])
