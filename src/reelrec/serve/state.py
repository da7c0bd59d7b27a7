"""What the service precomputes per artifact at load time, and the holder that swaps it atomically."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from reelrec.artifacts import Artifact, load_artifact
from reelrec.data._vocab import IdMap
from reelrec.models._base import Recommender
from reelrec.models._registry import model_class
from reelrec.serve.retrieval import Retriever, build_retriever, unit_rows
from reelrec.serve.settings import ServeSettings

_INT_ID = re.compile(r"0|-?[1-9][0-9]{0,17}")  # canonical decimal only: no "042", "+42", " 42"


class IdLookup:
    """Raw id (from a URL or JSON) -> index, with a dict built once so the hot path does no numpy work.

    Integer vocabularies accept ``int`` or a canonical decimal string (``"42"``, not ``"042"``, ``" 42"``
    or ``"4_2"``); string vocabularies accept strings, and integers by their decimal form.
    """

    def __init__(self, ids: IdMap) -> None:
        self.ids = ids
        self.integer = ids.is_integer
        #: Raw ids by index, as plain Python values ready for JSON.
        self.raw: list[Any] = ids.to_list()
        self._index = {raw: i for i, raw in enumerate(self.raw)}

    def __len__(self) -> int:
        return len(self.raw)

    def key(self, raw: int | str) -> int | str | None:
        """The vocabulary's form of ``raw``, or ``None`` when it cannot be an id of this vocabulary."""
        if self.integer:
            if isinstance(raw, bool):
                return None
            if isinstance(raw, int):
                return raw
            return int(raw) if isinstance(raw, str) and _INT_ID.fullmatch(raw) else None
        return raw if isinstance(raw, str) else str(raw)

    def get(self, raw: int | str) -> int | None:
        """Index of one raw id, ``None`` when unknown."""
        key = self.key(raw)
        return None if key is None else self._index.get(key)

    def many(self, raws: list[int | str]) -> NDArray[np.int32]:
        """Indices of raw ids, shape (n,), ``-1`` where unknown."""
        get = self._index.get
        out = [get(k, -1) if (k := self.key(r)) is not None else -1 for r in raws]
        return np.asarray(out, dtype=np.int32)


def _overrides(model: Recommender, method: str) -> bool:
    return getattr(type(model), method) is not getattr(Recommender, method)


def _dot_product_form(
    model: Recommender, items: NDArray[np.float32] | None
) -> tuple[NDArray[np.float32], NDArray[np.float32]] | None:
    """``(user_vectors, item_vectors)`` whose dot products equal the model's scores, else ``None``.

    ``user_embeddings()`` is an optional extension of the contract. The service trusts it only after
    checking, on a sample of users, that ``score_users`` equals ``U @ I.T`` plus at most a per-item bias;
    a bias becomes one more coordinate (1 for users, the bias for items), the usual reduction of
    biased scores to maximum inner product search. Only then may the retriever stand in for the model.
    """
    get = getattr(model, "user_embeddings", None)
    if items is None or not callable(get):
        return None
    users = get()
    if users is None:
        return None
    users = np.ascontiguousarray(users, dtype=np.float32)
    if users.shape != (len(model.users_), items.shape[1]):
        return None
    sample = np.unique(np.linspace(0, len(users) - 1, num=min(16, len(users))).astype(np.int32))
    expected = model.score_users(sample).astype(np.float64)
    residual = expected - users[sample].astype(np.float64) @ items.T.astype(np.float64)
    bias = residual.mean(axis=0)
    tol = 1e-4 * max(1.0, float(np.abs(expected).max()))
    if not np.isfinite(residual).all() or np.abs(residual - bias).max() > tol:
        return None
    if np.abs(bias).max() <= tol:
        return users, items
    ones = np.ones((len(users), 1), np.float32)
    return np.hstack([users, ones]), np.hstack([items, bias.astype(np.float32)[:, None]])


def _display(art: Artifact, items: IdLookup) -> pl.DataFrame | None:
    """Item display columns (tags...) in model index order; rows for unknown items stay null."""
    table = art.items
    if table is None or "item_id" not in table.columns:
        return None
    cols = [c for c in table.columns if c != "item_id"]
    if not cols:
        return None
    frame = table.select(cols)
    pos = items.many(table["item_id"].to_list())
    keep = pos >= 0
    # Items missing from the table point at one all-null row appended at the end.
    order = np.full(len(items), frame.height, np.int64)
    order[pos[keep]] = np.flatnonzero(keep)
    return pl.concat([frame, frame.clear(1)])[order]


@dataclass(frozen=True, eq=False)
class ServingState:
    """One loaded artifact and everything derived from it; never mutated once built.

    Requests take one reference to the current state and use only it, so a reload that swaps in a new
    state can never mix two models inside a response.

    Attributes
    ----------
    users, items : IdLookup
        Raw id <-> index, as dicts built once.
    display : polars.DataFrame or None
        Item display columns (tags...) in item index order.
    user_feature_kinds : dict
        Cold-start feature columns and kinds (``dataset.json`` ``user_features``).
    user_vectors : ndarray of float32, shape (n_users, d) or None
        Set when the model's scores were verified to be ``user_vectors @ ranker.items.T``.
    ranker : Retriever or None
        Top-k for known users over the (possibly bias-augmented) item embeddings.
    similar : Retriever or None
        Cosine search over unit item embeddings, for "similar videos".
    similar_via_model : bool
        The model overrides ``_similar`` (its own notion of similarity is used instead).
    plain_ranking : bool
        The model keeps the base ``recommend_indices``, so one user can be ranked by scoring, masking and
        a partial sort directly, with identical results.
    store_seq, live_items : int
        The event store's newest video this state has taken in, and how many stored videos it added to
        the artifact's catalogue (see :mod:`reelrec.serve.live`).
    """

    artifact: Artifact
    model: Recommender
    users: IdLookup
    items: IdLookup
    display: pl.DataFrame | None
    user_feature_kinds: dict[str, Any]
    label_name: str
    user_vectors: NDArray[np.float32] | None
    ranker: Retriever | None
    similar: Retriever | None
    similar_via_model: bool
    plain_ranking: bool
    loaded_at: str
    load_seconds: float
    store_seq: int = 0
    live_items: int = 0

    @property
    def artifact_id(self) -> str:
        return self.artifact.artifact_id

    @property
    def model_name(self) -> str:
        return self.model.name

    @property
    def retrieval(self) -> str:
        """How known users are ranked: ``exact``/``ann`` retriever, or the model's own scores."""
        return self.ranker.kind if self.ranker is not None else "model"

    def seen(self, user: int) -> NDArray[np.int32]:
        """Item indices the user viewed in training (a view: do not modify)."""
        seen = self.model.seen_
        return seen.indices[seen.indptr[user] : seen.indptr[user + 1]]


def build_state(art: Artifact, settings: ServeSettings, started: float | None = None) -> ServingState:
    """Precompute id maps, display rows and retrieval indexes for ``art`` (slow; once per load).

    ``started`` is the ``time.perf_counter()`` at which loading began, so ``load_seconds`` covers it.
    """
    start = time.perf_counter() if started is None else started
    model = art.model
    model._check_fitted()
    users, items = IdLookup(model.users_), IdLookup(model.items_)
    emb = model.item_embeddings()
    emb = None if emb is None else np.ascontiguousarray(emb, dtype=np.float32)
    if emb is not None and emb.shape[0] != len(items):
        raise ValueError(f"item_embeddings() has {emb.shape[0]} rows for {len(items)} items")
    ranker = similar = user_vectors = None
    kind, n_min, nprobe = settings.retrieval, settings.ann_min_items, settings.ann_nprobe
    dot = _dot_product_form(model, emb)
    if dot is not None:
        user_vectors = dot[0]
        ranker = build_retriever(dot[1], kind, n_min, nprobe)
    similar_via_model = _overrides(model, "_similar")
    if emb is not None and not similar_via_model:
        similar = build_retriever(unit_rows(emb), kind, n_min, nprobe)
    return ServingState(
        artifact=art,
        model=model,
        users=users,
        items=items,
        display=_display(art, items),
        user_feature_kinds=dict(art.dataset.get("user_features") or {}),
        label_name=str(art.dataset.get("label") or "label"),
        user_vectors=user_vectors,
        ranker=ranker,
        similar=similar,
        similar_via_model=similar_via_model,
        plain_ranking=not (_overrides(model, "recommend_indices") or _overrides(model, "_rank")),
        loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        load_seconds=time.perf_counter() - start,
    )


def load_state(path: Path, settings: ServeSettings) -> ServingState:
    """Load and verify the artifact at ``path``, then :func:`build_state`; raises ``ArtifactError``."""
    start = time.perf_counter()
    return build_state(load_artifact(path, model_class), settings, started=start)


class ModelHolder:
    """The current :class:`ServingState`; :meth:`swap` replaces it in one reference assignment."""

    def __init__(self, state: ServingState) -> None:
        self.current = state

    def swap(self, state: ServingState) -> ServingState:
        """Install ``state`` and return the previous one (in-flight requests keep using theirs)."""
        old, self.current = self.current, state
        return old
