"""Fitting the hybrid: its automatic choices on a carved holdout, then the chosen parts refitted on every pair.

Kept apart from the model class, which holds the scoring; the choices themselves live in
:mod:`reelrec.models._hybrid_select`.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, cast

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset
from reelrec.models._ease import EASE, item_gram
from reelrec.models._hybrid_parts import (
    FEATURE_REG,
    LabelKind,
    design_matrix,
    detect_label_kind,
    ease_weights,
    feature_pipeline,
    ials_confidence,
    label_target,
    ridge_map,
)
from reelrec.models._hybrid_progress import FitClock, fit_plan, refit_units
from reelrec.models._hybrid_select import Choice, choose
from reelrec.models._hybrid_session import fit_item_map
from reelrec.models._hybrid_taste import Encoded, encode_videos, fit_taste, mf_residual, taste_columns
from reelrec.models._hybrid_valid import carve_pairs
from reelrec.models._ials import implicit_als
from reelrec.models._item_mean import pair_means

if TYPE_CHECKING:
    from reelrec.models._hybrid import Hybrid


def fit_hybrid(model: Hybrid, dataset: Dataset) -> None:
    """Choose every option on a holdout carved from the pairs, then refit the chosen parts on all of them."""
    model._check_params()
    start = time.perf_counter()
    kind = detect_label_kind(dataset) if model.label_kind == "auto" else cast(LabelKind, model.label_kind)
    user, item, label = pair_means(dataset.interactions, dataset.n_items)
    y = label_target(label, kind).astype(np.float32)
    n_users, n_items = dataset.n_users, dataset.n_items
    use_ease = EASE.memory_needed_gb(n_items) <= model.max_memory_gb
    rng = np.random.default_rng(model.seed)
    held = carve_pairs(user, n_users, model.validation_fraction, model.max_validation_users, rng)
    plan = fit_plan(model, kind, len(user), int(held.sum()), n_users, n_items, use_ease)
    clock = FitClock(plan, model.progress is True or (model.progress == "auto" and sys.stderr.isatty()))
    clock.seconds["prepare"] = time.perf_counter() - start  # pair means, label kind, holdout
    try:
        with clock.phase("features"):
            user_design = _user_design(model, dataset)
            encoded = encode_videos(dataset.item_features)
            cols = taste_columns(encoded)
        model.taste_cols_ = None if cols is None else cols[0]
        videos = None if cols is None else cols[1]
        choice = choose(
            model, kind, user, item, label, y, held, (n_users, n_items), use_ease, user_design, videos, clock
        )
        model.label_kind_ = kind
        model.choice_ = choice
        _fit_parts(model, user, item, label, y, choice, use_ease, dataset, clock, user_design, encoded)
        model.taste_ = None
        if videos is not None and choice.taste_weight > 0:
            with clock.phase("refit taste"):
                resid = mf_residual(user, item, y, model.global_mean_, model.user_factors_, model.user_bias_,
                                    model.item_factors_, model.item_bias_)
                model.taste_ = fit_taste(user, item, resid, videos, n_users, choice.taste_reg, user_design)
    finally:
        model.fit_seconds_ = clock.close()


def _user_design(model: Hybrid, dataset: Dataset) -> sp.csr_matrix | None:
    pipe = feature_pipeline(dataset.user_features)
    model.user_pipe_ = pipe
    if pipe is None or dataset.user_features is None:
        return None
    return design_matrix(pipe.fit_transform(dataset.user_features), pipe)


def _fit_parts(
    model: Hybrid,
    user: NDArray[np.int32],
    item: NDArray[np.int32],
    label: NDArray[np.float32],
    y: NDArray[np.float32],
    choice: Choice,
    use_ease: bool,
    dataset: Dataset,
    clock: FitClock,
    user_design: sp.csr_matrix | None,
    encoded: Encoded | None = None,
) -> None:
    n_users, n_items = dataset.n_users, dataset.n_items
    planned = refit_units(model, model.label_kind_, len(y), n_users, n_items, use_ease)
    k = choice.embedding_size or int(model.embedding_size)
    with clock.phase("refit mf"):
        mean, p, b, q, c = model.fit_mf(user, item, y, (n_users, n_items), choice.mf_reg, int(model.epochs), k)
    clock.advance(planned["mf"], "refit MF")
    model.global_mean_ = mean
    # The labels a history view is assumed to carry when its watch ratio is unknown (a liked view:
    # the training targets' upper quartile) or when it was skipped (their 5th percentile), centred.
    model.liked_target_ = float(np.quantile(y, 0.75)) - mean
    model.skip_target_ = float(np.quantile(y, 0.05)) - mean
    model.user_factors_, model.user_bias_ = p, b
    model.ials_user_ = model.ials_item_ = None
    if max(choice.ials_weight, choice.catalogue_ials_weight) > 0:
        with clock.phase("refit ials"):
            extra = ials_confidence(user, item, label, model.label_kind_, choice.ials_alpha, (n_users, n_items))
            rng = np.random.default_rng(model.seed)
            model.ials_user_, model.ials_item_ = implicit_als(
                extra, int(model.ials_size), choice.ials_reg, int(model.epochs), rng
            )
    clock.advance(planned["ials"], "refit iALS")
    model.item_factors_, model.item_bias_ = np.ascontiguousarray(q), np.ascontiguousarray(c)
    with clock.phase("maps"):
        model.item_map_ = fit_item_map(model, dataset, item, encoded)
        model.user_map_ = model.user_map_bias_ = None
        if user_design is not None:  # the encoded user features, built once for the choices
            known = np.bincount(user, minlength=n_users) > 0
            pb = np.hstack([p, b[:, None]])
            model.user_map_, model.user_map_bias_ = ridge_map(user_design[known], pb[known], FEATURE_REG)
    model.log_popularity_ = np.log1p(model.item_popularity_).astype(np.float32)
    model.ease_weights_ = model.ease_values_ = None
    if model.ease_input == "residual":
        # Pairs are sorted by user then item, the order of seen_'s entries.
        model.ease_values_ = (y - mean - b[user] - model.item_bias_[item]).astype(np.float32)
    if use_ease and max(choice.ease_weight, choice.catalogue_ease_weight) > 0:
        with clock.phase("refit ease"):
            model.ease_weights_ = ease_weights(item_gram(model._ease_matrix()), choice.ease_reg)
    clock.advance(planned["ease"], "refit EASE")

