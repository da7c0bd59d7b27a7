"""The hybrid model's automatic choices: penalties and blend weights picked on a carved validation holdout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.models._ease import item_gram
from reelrec.models._hybrid_parts import FEATURE_REG, ease_weights, ridge_map, standardise_rows
from reelrec.models._hybrid_valid import catalogue_ndcg, impression_ndcg

if TYPE_CHECKING:
    from reelrec.models._hybrid import Hybrid

#: Share of the score given to popularity for users known by features only, tried on validation.
COLD_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
_GAIN_CLIP = 5.0


@dataclass
class Choice:
    """What the fit chose on validation, and the validation NDCG@10 of every option it tried."""

    mf_reg: float
    ease_reg: float
    blend_weight: float
    cold_weight: float
    validation: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Choice:
        return cls(**data)


Judge = Callable[[NDArray[np.float32]], float]


def make_judge(
    kind: str,
    rows: NDArray[np.int64],
    item: NDArray[np.int32],
    label: NDArray[np.float32],
    seen: sp.csr_matrix,
) -> Judge:
    """Validation NDCG@10 of a (validation users x catalogue) score matrix.

    Watch-ratio logs: held-out views ranked among themselves, gain = watch ratio clipped at 5.
    Other kinds: the whole catalogue ranked, training items masked; relevant = rating >= 4 for
    ratings, any held-out interaction otherwise.
    """
    if kind == "watch_ratio":
        gain = np.clip(label.astype(np.float64), 0.0, _GAIN_CLIP)
        return lambda s: impression_ndcg(rows.astype(np.int32), s[rows, item], gain)
    rel = label >= 4.0 if kind == "rating" else np.ones(len(label), bool)
    relevant = sp.csr_matrix((np.ones(int(rel.sum()), np.float32), (rows[rel], item[rel])), shape=seen.shape)
    return lambda s: catalogue_ndcg(s, seen, relevant)


def _best(scores: dict[Any, float]) -> Any:
    """The option with the highest score; ties go to the first tried."""
    return max(scores, key=lambda key: scores[key])


def choose(
    model: Hybrid,
    kind: str,
    user: NDArray[np.int32],
    item: NDArray[np.int32],
    label: NDArray[np.float32],
    y: NDArray[np.float32],
    held: NDArray[np.bool_],
    shape: tuple[int, int],
    use_ease: bool,
    user_design: sp.csr_matrix | None,
) -> Choice:
    """Fit every option on the pairs outside ``held`` and keep what ranks ``held`` best.

    Order: the MF penalty, then the EASE penalty, then the blend weight of the two chosen
    components, then the popularity weight for cold users (validation users scored from features).
    """
    n_users, n_items = shape
    if not held.any():
        return Choice(model.mf_regs[0], 1.0, 0.5, 0.5)
    train = ~held
    val_users = np.unique(user[held])
    row_of = np.full(n_users, -1, np.int64)
    row_of[val_users] = np.arange(len(val_users))
    x_train = sp.csr_matrix((np.ones(int(train.sum()), np.float32), (user[train], item[train])), shape=shape)
    judge = make_judge(kind, row_of[user[held]], item[held], label[held], x_train[val_users])
    log: dict[str, float] = {}

    mf_scores: dict[float, float] = {}
    mf_best: tuple[Any, ...] = ()
    for reg in model.mf_regs:
        # Half the sweeps while choosing: the ranking of penalties settles long before the factors do.
        mean, p, b, q, c = model.fit_mf(user[train], item[train], y[train], shape, reg, max(2, int(model.epochs) // 2))
        s = p[val_users] @ q.T + b[val_users, None] + c[None, :]
        mf_scores[reg] = log[f"mf reg={reg:g}"] = judge(s.copy())
        if _best(mf_scores) == reg:
            mf_best = (s, mean, p, b, q, c)
    mf_reg = _best(mf_scores)
    s_mf = standardise_rows(mf_best[0])

    ease_reg, blend = 1.0, 1.0
    if use_ease:
        x_ease = x_train
        if model.ease_input == "residual":
            _, mean, p, b, q, c = mf_best
            resid = y[train] - mean - b[user[train]] - c[item[train]]
            x_ease = sp.csr_matrix((resid.astype(np.float32), (user[train], item[train])), shape=shape)
        gram = item_gram(x_ease)
        counts = np.diag(gram)
        anchor = float(counts[counts > 0].mean())
        ease_scores: dict[float, float] = {}
        s_ease = s_mf
        for scale in model.ease_scales:
            reg = scale * anchor
            s = np.asarray(x_ease[val_users] @ ease_weights(gram, reg), np.float32)
            ease_scores[reg] = log[f"ease reg={reg:.4g}"] = judge(s.copy())
            if _best(ease_scores) == reg:
                s_ease = s
        del gram
        ease_reg = _best(ease_scores)
        s_ease = standardise_rows(s_ease)
        blend_scores: dict[float, float] = {}
        for w in np.linspace(0.0, 1.0, int(model.blend_steps) + 1):
            w = round(float(w), 6)
            blend_scores[w] = log[f"blend w={w:g}"] = judge((1 - w) * s_ease + w * s_mf)
        blend = _best(blend_scores)

    cold = 1.0
    if user_design is not None:
        _, _, p, b, q, c = mf_best
        has_pairs = np.bincount(user[train], minlength=n_users) > 0
        known = has_pairs.copy()
        known[val_users] = False
        if known.sum() < 10:
            # Small data where nearly every user is a validation user: map from everyone (optimistic).
            known = has_pairs
        if known.any():
            w_map, w0 = ridge_map(user_design[known], np.hstack([p, b[:, None]])[known], FEATURE_REG)
            pb = np.asarray(user_design[val_users] @ w_map + w0, np.float32)
            k = q.shape[1]
            s_cold = standardise_rows(pb[:, :k] @ q.T + pb[:, k, None] + c[None, :])
            pop = np.log1p(np.asarray(x_train.sum(axis=0), np.float32)).ravel()
            s_pop = standardise_rows(np.broadcast_to(pop, s_cold.shape).copy())
            cold_scores = {v: judge((1 - v) * s_cold + v * s_pop) for v in COLD_WEIGHTS}
            log.update({f"cold pop={v:g}": s for v, s in cold_scores.items()})
            cold = _best(cold_scores)
    return Choice(float(mf_reg), float(ease_reg), float(blend), float(cold), log)
