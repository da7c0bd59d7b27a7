"""The hybrid's second scoring rule, ``"catalogue"``: blend weights judged on what a user watches next.

The default rule's judge on a watch-ratio log ranks a user's held-out views among themselves
(preference given exposure). A feed ranks the whole catalogue, where the question is which of
thousands of videos the user will be shown and watch well; the MF label head alone cannot tell. So
the second blend is chosen on the same internal holdout with a whole-catalogue judge: relevant =
held-out views with a watch ratio >= 2 (the session and holdout protocols' threshold), training
views masked, over the same standardised parts plus iALS, which learns exposure. On ratings, counts
and binary logs the first judge already ranks the whole catalogue, so both rules share one blend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.models._hybrid_parts import simplex
from reelrec.models._hybrid_valid import catalogue_ndcg

if TYPE_CHECKING:
    from reelrec.models._hybrid import Hybrid

#: Relevance threshold of the whole-catalogue judge on watch ratios (the evaluation protocols' own).
RELEVANT_WATCH_RATIO = 2.0

Judge = Callable[[NDArray[np.float32]], float]
#: Fits the iALS options under a judge: ((reg, alpha), standardised validation scores).
IalsChooser = Callable[[Judge, dict[str, float]], tuple[tuple[float, float], NDArray[np.float32]]]
#: Chooses the cold users' popularity share under a judge.
ColdChooser = Callable[[Judge, dict[str, float]], float]


def catalogue_judge(
    rows: NDArray[np.int64], item: NDArray[np.int32], label: NDArray[np.float32], seen: sp.csr_matrix
) -> Judge:
    """NDCG@10 over the whole catalogue, relevant = held-out views with watch ratio >= 2, ``seen`` masked."""
    good = label >= RELEVANT_WATCH_RATIO
    ones = np.ones(int(good.sum()), np.float32)
    relevant = sp.csr_matrix((ones, (rows[good], item[good])), shape=seen.shape)
    return lambda s: catalogue_ndcg(s, seen, relevant)


def best_blend(
    parts: dict[str, NDArray[np.float32]], judge: Judge, steps: int, log: dict[str, float], prefix: str
) -> dict[str, float]:
    """A simplex point of ``parts`` the judge scores highest, logged as ``prefix mf=.. ease=..``.

    Coarse to fine, since each whole-catalogue judgement costs a top-k over every validation user:
    the grid in steps of ``2 / steps`` first, then the ``1 / steps`` points within one step of its
    best (27 judgements instead of 66 for three parts in tenths).
    """
    names = list(parts)
    found: dict[tuple[float, ...], float] = {}

    def score(w: tuple[float, ...]) -> None:
        if w in found:
            return
        mix = np.zeros_like(parts[names[0]])
        for wi, n in zip(w, names, strict=True):
            if wi > 0:
                mix += np.float32(wi) * parts[n]
        key = prefix + " " + " ".join(f"{n}={wi:g}" for n, wi in zip(names, w, strict=True))
        found[w] = log[key] = judge(mix)

    for w in simplex(len(names), max(1, steps // 2)):
        score(w)
    centre = max(found, key=found.__getitem__)
    for w in simplex(len(names), steps):
        if max(abs(a - b) for a, b in zip(w, centre, strict=True)) <= 1.0 / steps + 1e-9:
            score(w)
    best = max(found, key=found.__getitem__)
    return dict(zip(names, best, strict=True))


def choose_catalogue(
    model: Hybrid,
    kind: str,
    parts: dict[str, NDArray[np.float32]],
    first: dict[str, float],
    first_cold: float,
    judge_args: tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float32], sp.csr_matrix],
    pick_ials: IalsChooser,
    pick_cold: ColdChooser | None,
    log: dict[str, float],
) -> dict[str, Any]:
    """The ``Choice`` fields of the second rule (``catalogue_*``, and the iALS setting it picked).

    ``parts`` are the standardised validation scores the first blend was chosen over, ``first`` its
    weights. Watch-ratio logs get a second judge, iALS as an extra part (``pick_ials`` fits the
    model's iALS options under it) and their own cold-user popularity share; other kinds copy the
    first blend (their judge already ranks the whole catalogue).
    """
    if kind != "watch_ratio":
        return {
            "catalogue_mf_weight": first.get("mf", 0.0),
            "catalogue_ease_weight": first.get("ease", 0.0),
            "catalogue_ials_weight": first.get("ials", 0.0),
            "catalogue_cold_weight": first_cold,
        }
    judge = catalogue_judge(*judge_args)
    out: dict[str, Any] = {}
    mine = dict(parts)
    sub: dict[str, float] = {}
    if model.ials_options and "ials" not in mine:
        (reg, alpha), mine["ials"] = pick_ials(judge, sub)
        out["ials_reg"], out["ials_alpha"] = reg, alpha
    weights = best_blend(mine, judge, int(model.blend_steps), log, "catalogue")
    out["catalogue_mf_weight"] = weights.get("mf", 0.0)
    out["catalogue_ease_weight"] = weights.get("ease", 0.0)
    out["catalogue_ials_weight"] = weights.get("ials", 0.0)
    out["catalogue_cold_weight"] = first_cold if pick_cold is None else pick_cold(judge, sub)
    log.update({f"catalogue {key}": value for key, value in sub.items()})
    return out
