"""The one recommender contract: ``fit``, ``recommend``, ``predict``, ``save``/``load``.

Every baseline and neural model implements it; evaluation, the CLI and the service use nothing else.

Subclasses implement:

- ``_fit(dataset)``: learn state from ``dataset.interactions`` (and features);
- ``_score(users)``: dense ``float32`` scores of every item for a batch of user indices;
- optionally ``_predict(users, items)`` (regressing models), ``_score_features(table)`` (cold
  start from user features), ``item_embeddings()`` and ``_similar(items)``;
- optionally ``_score_sessions(users, histories, user_features)`` (the real-time feed: fold a
  short-term history into the user's state; default: ignore it) and ``_add_items(table)`` (new
  videos scored from their side features; default: not supported);
- ``_get_state()`` / ``_set_state()`` to round-trip learned arrays through safetensors.

Stability: stable.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from reelrec.data._dataset import Dataset, FeatureTable
from reelrec.data._vocab import IdMap
from reelrec.errors import NotFittedError
from reelrec.models._history import History, histories_exclusions
from reelrec.models._topk import MASKED, batch_size_for, mask_lists, mask_seen, topk

if TYPE_CHECKING:
    from reelrec.models._space import Distribution


class Recommender(ABC):
    """Base class: constructors only store hyperparameters; learned state ends in ``_``."""

    #: Registry name, e.g. ``"two-tower"``.
    name: ClassVar[str] = "base"
    #: Whether ``predict`` returns the label (watch ratio / rating) rather than a ranking score.
    regresses: ClassVar[bool] = False
    #: Whether unknown users can be scored from their side features.
    supports_cold_start: ClassVar[bool] = False
    #: Whether new videos can be registered from their side features without retraining.
    supports_new_items: ClassVar[bool] = False
    #: Ranking rules ``recommend(..., scoring=)`` accepts; the first is the default (documented per model).
    scorings: ClassVar[tuple[str, ...]] = ("score",)

    users_: IdMap
    items_: IdMap
    seen_: sp.csr_matrix
    item_popularity_: NDArray[np.float32]

    # ------------------------------------------------------------------ params
    @classmethod
    def fast_params(cls) -> dict[str, Any]:
        """Cheap hyperparameters for smoke tests and quick demos (default: the defaults)."""
        return {}

    @classmethod
    def search_space(cls) -> dict[str, Distribution]:
        """Hyperparameters ``reelrec tune`` searches, name -> distribution (default: none to tune)."""
        return {}

    def get_params(self) -> dict[str, Any]:
        """Constructor hyperparameters by name (JSON-friendly), as sklearn does."""
        sig = inspect.signature(type(self).__init__)
        return {
            name: getattr(self, name)
            for name, p in sig.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # --------------------------------------------------------------------- fit
    def fit(self, dataset: Dataset) -> Self:
        """Learn from ``dataset.interactions``; returns ``self``."""
        inter = dataset.interactions
        if len(inter) == 0:
            raise ValueError("cannot fit on a data set with no interactions")
        self.users_ = dataset.users
        self.items_ = dataset.items
        self.seen_ = inter.to_csr(dataset.n_users, dataset.n_items, values="ones")
        self.item_popularity_ = np.asarray(self.seen_.sum(axis=0), dtype=np.float32).ravel()
        self._fit(dataset)
        return self

    @abstractmethod
    def _fit(self, dataset: Dataset) -> None: ...

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "seen_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() or load() first")

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return len(self.items_)

    # ----------------------------------------------------------------- scoring
    @abstractmethod
    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        """Scores of every item for each user index, shape (len(users), n_items), a fresh array."""

    def _score_features(self, user_features: FeatureTable) -> NDArray[np.float32]:
        """Scores for users described only by features (cold start); default: popularity."""
        return np.broadcast_to(self.item_popularity_, (len(user_features), self.n_items)).copy()

    def _scorers(
        self, candidates: ArrayLike | None, scoring: str | None = None
    ) -> tuple[Callable[[NDArray[np.int32]], NDArray[np.float32]], Callable[[FeatureTable], NDArray[np.float32]]]:
        """The known-user and cold-user score functions for one request under ``scoring``.

        Models with several ranking rules override this; the others score the same either way.
        """
        self._check_scoring(scoring)
        return self._score, self._score_features

    def _check_scoring(self, scoring: str | None) -> str:
        """``scoring`` resolved to one of :attr:`scorings` (``None`` is the default, the first)."""
        if scoring is None:
            return self.scorings[0]
        if scoring not in self.scorings:
            raise ValueError(f"scoring={scoring!r} is not one of {self.name}'s rules: {', '.join(self.scorings)}")
        return scoring

    def _predict(self, users: NDArray[np.int32], items: NDArray[np.int32]) -> NDArray[np.float32]:
        raise NotImplementedError(f"{self.name} ranks items but does not predict the label")

    def score_users(self, users: ArrayLike) -> NDArray[np.float32]:
        """Dense scores of every item for user indices, shape (n, n_items), float32."""
        self._check_fitted()
        return self._score(np.asarray(users, dtype=np.int32))

    # --------------------------------------------------------------- recommend
    def recommend_indices(
        self,
        users: ArrayLike,
        k: int = 10,
        exclude_seen: bool = True,
        candidates: ArrayLike | None = None,
        exclude: list[NDArray[np.int32]] | None = None,
        scoring: str | None = None,
    ) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """Top-``k`` item indices and scores for user indices, best first.

        Parameters
        ----------
        users : array-like of int, shape (n,)
            User indices (``0 <= u < len(users_)``).
        k : int
            Items per user; rows with fewer recommendable items are padded with ``-1`` / ``NaN``.
        exclude_seen : bool
            Drop items the user interacted with in training (on by default).
        candidates : array-like of int, optional
            Item indices to rank among; all items when omitted. An empty list gives rows of padding only.
        exclude : list of int32 arrays, optional
            Extra item indices to drop, one array per user.
        scoring : str, optional
            One of :attr:`scorings`; the model's documented default when omitted.

        Returns
        -------
        items : ndarray of int32, shape (n, k)
        scores : ndarray of float32, shape (n, k)
        """
        self._check_fitted()
        users = np.atleast_1d(np.asarray(users)).astype(np.int32)
        if k < 1:
            raise ValueError(f"k={k}, must be >= 1")
        if len(users) and (users.min() < 0 or users.max() >= len(self.users_)):
            raise KeyError(f"user indices must be in [0, {len(self.users_)})")
        score_known, _ = self._scorers(candidates, scoring)
        return self._rank(score_known, users, k, exclude_seen, candidates, exclude)

    def _rank(
        self,
        score_fn: Any,
        rows: NDArray,
        k: int,
        exclude_seen: bool,
        candidates: ArrayLike | None,
        exclude: list[NDArray[np.int32]] | None,
        seen_users: NDArray[np.int32] | None = None,
    ) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """Score ``rows`` in memory-bounded batches, mask, and take the top ``k``."""
        cand = None if candidates is None else np.unique(np.asarray(candidates, dtype=np.int32))
        if cand is not None and len(cand) and (cand.min() < 0 or cand.max() >= self.n_items):
            raise KeyError(f"candidate item indices must be in [0, {self.n_items})")
        seen_rows = rows if seen_users is None else seen_users
        n = len(rows)
        out_i = np.full((n, k), -1, np.int32)
        out_s = np.full((n, k), np.nan, np.float32)
        if cand is not None and len(cand) == 0:
            return out_i, out_s  # nothing to rank among: every slot is padding (issue 13, item 1)
        step = batch_size_for(self.n_items)
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            scores = np.array(score_fn(rows[lo:hi]), dtype=np.float32, copy=True)
            np.nan_to_num(scores, copy=False, nan=float(MASKED))
            if exclude_seen and seen_rows is not None:
                mask_seen(scores, self.seen_, seen_rows[lo:hi])
            if exclude is not None:
                mask_lists(scores, exclude[lo:hi])
            if cand is not None:
                scores = scores[:, cand]
            idx, val = topk(scores, k)
            if cand is not None:
                idx = np.where(idx >= 0, cand[np.maximum(idx, 0)], -1).astype(np.int32)
            out_i[lo:hi], out_s[lo:hi] = idx, val
        return out_i, out_s

    def recommend(
        self,
        users: ArrayLike,
        k: int = 10,
        exclude_seen: bool = True,
        candidates: ArrayLike | None = None,
        scoring: str | None = None,
    ) -> tuple[NDArray, NDArray[np.float32]]:
        """Top-``k`` raw item ids and scores for raw user ids (one id or many).

        Unknown users raise ``KeyError``; padding slots hold ``None``-like ``-1`` ids only when
        fewer than ``k`` items are recommendable (the score there is ``NaN``).
        """
        self._check_fitted()
        single = np.ndim(users) == 0
        idx = self.users_.index(np.atleast_1d(users))
        cand = None if candidates is None else self.items_.index(candidates)
        items, scores = self.recommend_indices(idx, k, exclude_seen, cand, scoring=scoring)
        raw = self._raw_items(items)
        return (raw[0], scores[0]) if single else (raw, scores)

    def recommend_cold(
        self,
        user_features: FeatureTable,
        k: int = 10,
        candidates: ArrayLike | None = None,
        exclude: list[NDArray[np.int32]] | None = None,
        scoring: str | None = None,
    ) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """Top-``k`` item indices for users known only by features (not in ``users_``)."""
        self._check_fitted()
        _, score_cold = self._scorers(candidates, scoring)
        rows = np.arange(len(user_features), dtype=np.int32)
        return self._rank(lambda r: score_cold(user_features.take(r)), rows, k, False, candidates, exclude)

    # ------------------------------------------------------------ sessions
    def _score_sessions(
        self,
        users: NDArray[np.int32],
        histories: list[History],
        user_features: FeatureTable | None,
        scoring: str | None = None,
    ) -> NDArray[np.float32]:
        """Scores of every item for users with a short-term history, shape (len(users), n_items).

        ``users[r]`` is the user index, or ``-1`` for a user the model has not seen (then
        ``user_features`` row ``r``, when given, describes them). This default ignores the history:
        known users score as in training, new ones from features or popularity. Models that can fold
        a history into the user's state override it.
        """
        known_fn, cold_fn = self._scorers(None, scoring)
        out = np.empty((len(users), self.n_items), np.float32)
        known = users >= 0
        if known.any():
            out[known] = known_fn(users[known])
        if (~known).any():
            rows = np.flatnonzero(~known)
            if user_features is not None and self.supports_cold_start:
                out[rows] = cold_fn(user_features.take(rows))
            else:
                out[rows] = self.item_popularity_
        return out

    def recommend_session_indices(
        self,
        histories: list[History],
        users: ArrayLike | None = None,
        user_features: FeatureTable | None = None,
        k: int = 10,
        exclude_seen: bool = True,
        candidates: ArrayLike | None = None,
        exclude: list[NDArray[np.int32]] | None = None,
        scoring: str | None = None,
    ) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """Top-``k`` item indices for users with a recent history (the real-time feed), best first.

        ``users`` holds a user index per history or ``-1`` for a new user (all new when omitted).
        Videos in a history are excluded like seen videos; ``exclude_seen`` also drops a known
        user's training views.
        """
        self._check_fitted()
        if k < 1:
            raise ValueError(f"k={k}, must be >= 1")
        n = len(histories)
        u = np.full(n, -1, np.int32) if users is None else np.atleast_1d(np.asarray(users)).astype(np.int32)
        if len(u) != n:
            raise ValueError(f"got {n} histories for {len(u)} users")
        if n and (u.max(initial=-1) >= len(self.users_) or u.min(initial=0) < -1):
            raise KeyError(f"user indices must be in [0, {len(self.users_)}) or -1 for a new user")
        if user_features is not None and len(user_features) != n:
            raise ValueError(f"got {len(user_features)} feature rows for {n} histories")
        for h in histories:
            if len(h) and (h.items.min() < 0 or h.items.max() >= self.n_items):
                raise KeyError(f"history item indices must be in [0, {self.n_items})")
        self._check_scoring(scoring)
        drop = histories_exclusions(histories)
        if exclude is not None:
            drop = [np.union1d(a, b).astype(np.int32) for a, b in zip(drop, exclude, strict=True)]
        if exclude_seen:
            seen = self.seen_
            drop = [
                np.union1d(d, seen.indices[seen.indptr[x] : seen.indptr[x + 1]]).astype(np.int32) if x >= 0 else d
                for d, x in zip(drop, u, strict=True)
            ]
        rows = np.arange(n, dtype=np.int32)

        def score(r: NDArray[np.int32]) -> NDArray[np.float32]:
            table = None if user_features is None else user_features.take(r)
            return self._score_sessions(u[r], [histories[i] for i in r], table, scoring)

        return self._rank(score, rows, k, False, candidates, drop)

    def recommend_session(
        self,
        history: History | list[dict[str, Any]],
        k: int = 10,
        user: Any = None,
        user_features: FeatureTable | None = None,
        exclude_seen: bool = True,
        candidates: ArrayLike | None = None,
        scoring: str | None = None,
    ) -> tuple[NDArray, NDArray[np.float32]]:
        """Top-``k`` raw item ids and scores for one user given their most recent views.

        ``history`` is a :class:`History` of item indices, or a list of dicts with raw ``item_id``
        and optional ``watch_ratio``, ``skipped`` and ``timestamp`` (newest last). ``user`` is a raw
        user id (known: the history adds to their training views) or ``None`` for a new user,
        optionally described by one row of ``user_features``.
        """
        self._check_fitted()
        if not isinstance(history, History):
            history = self.history_from_records(history)
        u = -1 if user is None else int(self.users_.index(np.atleast_1d(user))[0])
        cand = None if candidates is None else self.items_.index(candidates)
        items, scores = self.recommend_session_indices(
            [history], np.asarray([u], np.int32), user_features, k, exclude_seen, cand, scoring=scoring
        )
        return self._raw_items(items)[0], scores[0]

    def history_from_records(self, records: list[dict[str, Any]]) -> History:
        """A :class:`History` from dicts with a raw ``item_id`` (``KeyError`` names unknown videos)."""
        self._check_fitted()
        ids = [r["item_id"] for r in records]
        idx = self.items_.index(ids, missing="negative") if ids else np.zeros(0, np.int32)
        if (idx < 0).any():
            unknown = [ids[i] for i in np.flatnonzero(idx < 0)[:10]]
            raise KeyError(f"unknown item_id in history: {unknown}")

        def column(name: str, default: float) -> NDArray[np.float64]:
            return np.asarray([default if r.get(name) is None else float(r[name]) for r in records], np.float64)

        ts = column("timestamp", np.nan)
        return History.of(
            idx,
            column("watch_ratio", np.nan),
            [bool(r.get("skipped", False)) for r in records],
            None if np.isnan(ts).all() else ts,
        )

    # ------------------------------------------------------------- new items
    def add_items(self, item_ids: ArrayLike, item_features: FeatureTable) -> NDArray[np.int32]:
        """Register new videos from their side features so they can be recommended at once.

        Returns their new item indices. Models that do not score items from features raise
        ``NotImplementedError``; ids already in the catalogue raise ``ValueError``.
        """
        self._check_fitted()
        if not self.supports_new_items:
            raise NotImplementedError(f"{self.name} cannot score new videos from their features; retrain instead")
        ids = np.atleast_1d(np.asarray(item_ids))
        if len(ids) != len(item_features):
            raise ValueError(f"got {len(ids)} item ids for {len(item_features)} feature rows")
        known = self.items_.index(ids, missing="negative") >= 0
        if known.any():
            raise ValueError(f"item ids already in the catalogue: {ids[known][:10].tolist()}")
        if len(np.unique(ids)) != len(ids):
            raise ValueError("duplicate item ids among the new videos")
        return self._add_items(ids, item_features)

    def _add_items(self, item_ids: NDArray, item_features: FeatureTable) -> NDArray[np.int32]:
        """Extend ``items_``, ``seen_``, ``item_popularity_`` and the model's item state; see ``add_items``."""
        raise NotImplementedError(f"{self.name} cannot score new videos from their features")

    def _raw_items(self, items: NDArray[np.int32]) -> NDArray:
        raw = self.items_.raw(np.maximum(items, 0))
        if (items < 0).any():
            raw = raw.astype(object)
            raw[items < 0] = None
        return raw

    # ---------------------------------------------------------------- predict
    def predict_indices(self, users: ArrayLike, items: ArrayLike) -> NDArray[np.float32]:
        """Predicted label for each (user index, item index) pair, shape (n,), float32."""
        self._check_fitted()
        u = np.asarray(users, dtype=np.int32)
        i = np.asarray(items, dtype=np.int32)
        if u.shape != i.shape:
            raise ValueError(f"users and items must align, got shapes {u.shape} and {i.shape}")
        return np.asarray(self._predict(u, i), dtype=np.float32)

    def predict(self, users: ArrayLike, items: ArrayLike) -> NDArray[np.float32]:
        """Predicted label for raw (user, item) id pairs; ``NaN`` where either id is unknown."""
        self._check_fitted()
        u = self.users_.index(users, missing="negative")
        i = self.items_.index(items, missing="negative")
        out = np.full(u.shape, np.nan, np.float32)
        ok = (u >= 0) & (i >= 0)
        if ok.any():
            out[ok] = self.predict_indices(u[ok], i[ok])
        return out

    # ---------------------------------------------------------------- similar
    def item_embeddings(self) -> NDArray[np.float32] | None:
        """Item vectors, shape (n_items, d), if the model has an embedding space."""
        return None

    def _similar(self, items: NDArray[np.int32]) -> NDArray[np.float32]:
        """Similarity of each given item to every item, shape (len(items), n_items)."""
        emb = self.item_embeddings()
        if emb is None:
            raise NotImplementedError(f"{self.name} has no item similarity")
        norms = np.linalg.norm(emb, axis=1)
        norms[norms == 0] = 1.0
        unit = emb / norms[:, None]
        return unit[items] @ unit.T

    def similar_items(self, items: ArrayLike, k: int = 10) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """Nearest item indices to each given item index (the item itself excluded)."""
        self._check_fitted()
        items = np.atleast_1d(np.asarray(items, dtype=np.int32))
        exclude = [np.asarray([i], np.int32) for i in items]
        return self._rank(self._similar, items, k, False, None, exclude)

    # ------------------------------------------------------------ persistence
    def _get_state(self) -> tuple[dict[str, NDArray], dict[str, Any]]:
        """Learned arrays (saved as safetensors) and learned JSON (e.g. a feature pipeline)."""
        return {}, {}

    def _set_state(self, tensors: dict[str, NDArray], extra: dict[str, Any]) -> None:
        """Inverse of :meth:`_get_state`; called on an instance built from :meth:`get_params`."""
        if tensors or extra:
            raise ValueError(f"{self.name} has no learned state beyond the base class, got {sorted(tensors)}")

    def save(self, path: str | Path, **artifact: Any) -> Path:
        """Write an artifact directory atomically; see :func:`reelrec.artifacts.save_artifact`."""
        from reelrec.artifacts import save_artifact

        return save_artifact(self, path, **artifact)

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        """Load any model's artifact; see :func:`reelrec.artifacts.load_artifact`."""
        from reelrec.artifacts import load_artifact
        from reelrec.models._registry import model_class

        return load_artifact(path, model_class).model
