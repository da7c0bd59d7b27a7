"""The hybrid model's automatic choices: penalties, factor count and blend weights picked on a carved holdout."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.models._hybrid_catalogue import choose_catalogue
from reelrec.models._hybrid_choices import Judge, choose_cold, choose_ease, choose_ials, choose_sweeps, walk
from reelrec.models._hybrid_parts import (
    simplex,
    standardise_rows,
)
from reelrec.models._hybrid_progress import (
    FitClock,
    mf_units,
)
from reelrec.models._hybrid_taste import choose_taste
from reelrec.models._hybrid_valid import catalogue_ndcg, impression_ndcg

if TYPE_CHECKING:
    from reelrec.models._hybrid import Hybrid

_GAIN_CLIP = 5.0


@dataclass
class Choice:
    """What the fit chose on validation, and the validation NDCG@10 of every option it tried.

    ``blend_weight``, ``ease_weight`` and ``ials_weight`` are the shares of the MF label head, EASE
    and iALS in the blend (they sum to 1).
    """

    mf_reg: float
    ease_reg: float
    blend_weight: float
    cold_weight: float
    validation: dict[str, float] = field(default_factory=dict)
    embedding_size: int = 0
    ease_weight: float = -1.0
    ials_weight: float = 0.0
    ials_reg: float = 1.0
    ials_alpha: float = 1.0
    # The second scoring rule, "catalogue" (see _hybrid_catalogue); -1: the first blend's (older artifacts).
    catalogue_mf_weight: float = -1.0
    catalogue_ease_weight: float = 0.0
    catalogue_ials_weight: float = 0.0
    catalogue_cold_weight: float = -1.0
    taste_weight: float = 0.0  # side-feature taste added to the MF head (``_hybrid_taste``); 0 = off
    taste_reg: float = 0.0

    def __post_init__(self) -> None:
        if self.ease_weight < 0:  # artifacts written before the three-way blend
            self.ease_weight = 1.0 - self.blend_weight
        if self.catalogue_mf_weight < 0:  # artifacts written before the second rule
            self.catalogue_mf_weight, self.catalogue_ease_weight = self.blend_weight, self.ease_weight
            self.catalogue_ials_weight = self.ials_weight
        if self.catalogue_cold_weight < 0:
            self.catalogue_cold_weight = self.cold_weight

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Choice:
        return cls(**data)


def make_judge(
    kind: str,
    rows: NDArray[np.int64],
    item: NDArray[np.int32],
    label: NDArray[np.float32],
    seen: sp.csr_matrix,
    rating_judge: str = "both",
) -> Judge:
    """Validation NDCG@10 of a (validation users x catalogue) score matrix.

    Watch-ratio logs: held-out views ranked among themselves, gain = watch ratio clipped at 5.
    Other kinds: the whole catalogue ranked, training items masked, relevant = any held-out
    interaction; for ratings ``rating_judge="high"`` counts only ratings >= 4 and ``"both"`` (the
    default) averages the two readings, since a ratings log is read both ways and one
    configuration must serve both.
    """
    if kind == "watch_ratio":
        gain = np.clip(label.astype(np.float64), 0.0, _GAIN_CLIP)
        return lambda s: impression_ndcg(rows.astype(np.int32), s[rows, item], gain)

    def relevant(mask: NDArray[np.bool_]) -> sp.csr_matrix:
        ones = np.ones(int(mask.sum()), np.float32)
        return sp.csr_matrix((ones, (rows[mask], item[mask])), shape=seen.shape)

    every = relevant(np.ones(len(label), bool))
    if kind != "rating":
        return lambda s: catalogue_ndcg(s, seen, every)
    high = relevant(label >= 4.0)
    if rating_judge == "high":
        return lambda s: catalogue_ndcg(s, seen, high)
    return lambda s: 0.5 * (catalogue_ndcg(s.copy(), seen, high) + catalogue_ndcg(s, seen, every))


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
    taste_videos: NDArray[np.float32] | None = None,
    clock: FitClock | None = None,
) -> Choice:
    """Fit every option on the pairs outside ``held`` and keep what ranks ``held`` best.

    Order: the MF penalty (a walk over the grid), the MF factor count at that penalty, the EASE
    penalty (a walk, one Gram matrix; stopped at its first point when EASE earns no blend weight
    there), the iALS setting (not on impression logs), then the blend weights on a simplex grid,
    then the popularity weight for cold users (validation users scored from their features), then
    the second scoring rule's blend (``choose_catalogue``).
    ``clock`` (optional) records each phase's seconds and advances the fit's progress bar.
    """
    clock = clock or FitClock(1.0, show=False)
    n_users, n_items = shape
    k0 = int(model.embedding_size)
    if not held.any():
        return Choice(model.mf_regs[0], 1.0, 0.5, 0.5, embedding_size=k0)
    train = ~held
    val_users = np.unique(user[held])
    row_of = np.full(n_users, -1, np.int64)
    row_of[val_users] = np.arange(len(val_users))
    x_train = sp.csr_matrix((np.ones(int(train.sum()), np.float32), (user[train], item[train])), shape=shape)
    judge = make_judge(kind, row_of[user[held]], item[held], label[held], x_train[val_users], model.rating_judge)
    log: dict[str, float] = {}
    sweeps = choose_sweeps(model)

    mf: dict[tuple[int, float], tuple[float, tuple[Any, ...]]] = {}
    n_train = int(train.sum())

    def mf_at(k: int, reg: float) -> float:
        if (k, reg) not in mf:
            mean, p, b, q, c = model.fit_mf(user[train], item[train], y[train], shape, reg, sweeps, k)
            s = p[val_users] @ q.T + b[val_users, None] + c[None, :]
            mf[(k, reg)] = (judge(s.copy()), (s, mean, p, b, q, c))
            log[f"mf k={k} reg={reg:g}"] = mf[(k, reg)][0]
            clock.advance(mf_units(n_train, n_users, n_items, k, sweeps), f"MF k={k} reg={reg:g}")
        return mf[(k, reg)][0]

    with clock.phase("choose mf"):
        mf_reg = model.mf_regs[walk(len(model.mf_regs), lambda i: mf_at(k0, model.mf_regs[i]))]
        for k in model.other_sizes:
            mf_at(int(k), mf_reg)
        k_best = max((k for k, r in mf if r == mf_reg), key=lambda k: mf[(k, mf_reg)][0])
        if k_best != k0:  # the best penalty depends on the factor count: walk on from the chosen one
            i = walk(len(model.mf_regs), lambda i: mf_at(k_best, model.mf_regs[i]), model.mf_regs.index(mf_reg))
            mf_reg = model.mf_regs[i]
    mf_best = mf[(k_best, mf_reg)][1]
    taste_w, taste_reg, s_mf = 0.0, 0.0, mf_best[0]
    if taste_videos is not None:
        with clock.phase("choose taste"):
            taste_w, taste_reg, s_mf = choose_taste(
                judge, user, item, y, train, mf_best, val_users, taste_videos, user_design, log,
                model.taste_regs, model.taste_weights,
            )
    parts = {"mf": standardise_rows(s_mf.copy())}

    ease_reg = 1.0
    if use_ease:
        with clock.phase("choose ease"):
            ease_reg, parts["ease"] = choose_ease(
                model, x_train, y, user, item, train, mf_best, val_users, judge, log, parts["mf"], clock
            )
    ials = (1.0, 1.0)
    if kind != "watch_ratio" and model.ials_options:
        with clock.phase("choose ials"):
            ials, parts["ials"] = choose_ials(
                model, kind, user, item, label, train, shape, val_users, judge, log, clock
            )

    with clock.phase("choose blend"):
        names = list(parts)
        blend: dict[tuple[float, ...], float] = {}
        for w in simplex(len(names), int(model.blend_steps)):
            mix = sum((np.float32(wi) * parts[n] for wi, n in zip(w, names, strict=True)), np.zeros(1, np.float32))
            blend[w] = log["blend " + " ".join(f"{n}={wi:g}" for n, wi in zip(names, w, strict=True))] = judge(mix)
        best_w: tuple[float, ...] = max(blend, key=blend.__getitem__)
        weights = dict(zip(names, best_w, strict=True))

    cold = 1.0
    if user_design is not None:
        with clock.phase("choose cold"):
            cold = choose_cold(user_design, mf_best, user, train, val_users, x_train, n_users, judge, log)
    with clock.phase("choose catalogue"):
        second = choose_catalogue(
            model, kind, parts, weights, cold, (row_of[user[held]], item[held], label[held], x_train[val_users]),
            # One iALS setting for the second rule: the first option won it on every internal holdout
            # measured (synthetic drift data, seeds 0-2), and each option is a full ALS fit.
            lambda j, lg: choose_ials(
                model, kind, user, item, label, train, shape, val_users, j, lg, clock, model.ials_options[:1]
            ),
            None if user_design is None else
            lambda j, lg: choose_cold(user_design, mf_best, user, train, val_users, x_train, n_users, j, lg),
            log,
    )
    return Choice(**{
        "mf_reg": float(mf_reg), "ease_reg": float(ease_reg), "blend_weight": weights["mf"],
        "cold_weight": float(cold), "validation": log, "embedding_size": int(k_best),
        "ease_weight": weights.get("ease", 0.0), "ials_weight": weights.get("ials", 0.0),
        "ials_reg": float(ials[0]), "ials_alpha": float(ials[1]),
        "taste_weight": float(taste_w), "taste_reg": float(taste_reg), **second,
    })
