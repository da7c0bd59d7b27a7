"""The one in-memory shape every model, metric and service consumes: :class:`Dataset`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.data._vocab import IdMap

FeatureKind = Literal["numeric", "categorical", "multi"]


@dataclass
class Interactions:
    """Interaction log in index space: parallel arrays, one element per logged view.

    Attributes
    ----------
    user, item : ndarray of int32, shape (n,)
        Indices into the dataset's user and item :class:`IdMap`.
    label : ndarray of float32, shape (n,)
        The target (watch ratio, rating, play count...).
    timestamp : ndarray of float64, shape (n,)
        Unix seconds; ``NaN`` where unknown (e.g. KuaiRec small-matrix rows without a time).
    """

    user: NDArray[np.int32]
    item: NDArray[np.int32]
    label: NDArray[np.float32]
    timestamp: NDArray[np.float64]

    def __post_init__(self) -> None:
        n = len(self.user)
        for name in ("item", "label", "timestamp"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Interactions.{name} has {len(getattr(self, name))} rows, expected {n}")
        if self.user.dtype != np.int32 or self.item.dtype != np.int32:
            raise TypeError("Interactions.user and .item must be int32 indices")
        if self.label.dtype != np.float32:
            raise TypeError("Interactions.label must be float32")
        if self.timestamp.dtype != np.float64:
            raise TypeError("Interactions.timestamp must be float64")

    @classmethod
    def from_arrays(
        cls,
        user: NDArray,
        item: NDArray,
        label: NDArray,
        timestamp: NDArray | None = None,
    ) -> Interactions:
        """Cast once, at the boundary, to the canonical dtypes."""
        n = len(user)
        ts = np.full(n, np.nan) if timestamp is None else np.asarray(timestamp, dtype=np.float64)
        return cls(
            np.asarray(user, dtype=np.int32),
            np.asarray(item, dtype=np.int32),
            np.asarray(label, dtype=np.float32),
            ts,
        )

    @classmethod
    def empty(cls) -> Interactions:
        return cls.from_arrays(np.zeros(0), np.zeros(0), np.zeros(0))

    def __len__(self) -> int:
        return len(self.user)

    def take(self, selector: NDArray) -> Interactions:
        """Rows picked by a boolean mask or an index array (a copy)."""
        return Interactions(
            self.user[selector], self.item[selector], self.label[selector], self.timestamp[selector]
        )

    def concat(self, other: Interactions) -> Interactions:
        return Interactions(
            np.concatenate([self.user, other.user]),
            np.concatenate([self.item, other.item]),
            np.concatenate([self.label, other.label]),
            np.concatenate([self.timestamp, other.timestamp]),
        )

    def to_csr(
        self,
        n_users: int,
        n_items: int,
        values: Literal["ones", "label"] = "ones",
        duplicates: Literal["sum", "max", "last"] = "max",
    ) -> sp.csr_matrix:
        """User x item CSR matrix (int32 indices, float32 data, sorted indices, no duplicates).

        Repeated (user, item) pairs are merged by ``duplicates``: ``max`` keeps the largest value,
        ``sum`` adds them, ``last`` keeps the latest by timestamp.
        """
        data = np.ones(len(self), np.float32) if values == "ones" else self.label
        if duplicates == "sum":
            mat = sp.csr_matrix((data, (self.user, self.item)), shape=(n_users, n_items), dtype=np.float32)
            mat.sum_duplicates()
        else:
            key = self.user.astype(np.int64) * n_items + self.item
            if duplicates == "last":
                ts = np.nan_to_num(self.timestamp, nan=-np.inf)
                order = np.lexsort((ts, key))
            else:
                order = np.lexsort((data, key))
            key_sorted = key[order]
            last = np.ones(len(order), bool)
            last[:-1] = key_sorted[1:] != key_sorted[:-1]
            keep = order[last]
            mat = sp.csr_matrix(
                (data[keep], (self.user[keep], self.item[keep])), shape=(n_users, n_items), dtype=np.float32
            )
        mat.sort_indices()
        mat.indices = mat.indices.astype(np.int32, copy=False)
        mat.indptr = mat.indptr.astype(np.int64 if mat.nnz >= 2**31 else np.int32, copy=False)
        return mat

    def to_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {"user": self.user, "item": self.item, "label": self.label, "timestamp": self.timestamp}
        )


@dataclass
class FeatureTable:
    """Side features of users or items, one row per index of the matching :class:`IdMap`.

    ``frame`` row ``i`` describes entity index ``i``; entities without a row in the source file are
    null. Multi-valued features (KuaiRec video tags) are polars ``List`` columns.

    Attributes
    ----------
    frame : polars.DataFrame
        Feature columns only (no id column), ``len(frame) == len(id_map)``.
    kinds : dict
        Column name -> ``"numeric" | "categorical" | "multi"``.
    """

    frame: pl.DataFrame
    kinds: dict[str, FeatureKind]

    def __post_init__(self) -> None:
        missing = [c for c in self.kinds if c not in self.frame.columns]
        if missing:
            raise ValueError(f"FeatureTable.kinds names columns not in the frame: {missing}")
        bad = {c: k for c, k in self.kinds.items() if k not in ("numeric", "categorical", "multi")}
        if bad:
            raise ValueError(f"unknown feature kinds {bad}; expected numeric, categorical or multi")

    def __len__(self) -> int:
        return self.frame.height

    @property
    def columns(self) -> list[str]:
        return list(self.kinds)

    def select(self, columns: list[str]) -> FeatureTable:
        return FeatureTable(self.frame.select(columns), {c: self.kinds[c] for c in columns})

    def take(self, indices: NDArray) -> FeatureTable:
        """Rows for the given entity indices (a new table aligned with ``indices``)."""
        return FeatureTable(self.frame[np.asarray(indices, dtype=np.int64)], dict(self.kinds))


@dataclass
class Dataset:
    """Everything a model may learn from, in index space, plus what evaluation needs.

    Attributes
    ----------
    users, items : IdMap
        Vocabularies for every user and item the data set knows (features included).
    interactions : Interactions
        The training pool (KuaiRec: the big matrix; generic data: the whole log, which the
        ``holdout`` protocol splits).
    fully_observed : Interactions or None
        A block disjoint from ``interactions`` in which every (user, item) cell was logged
        (KuaiRec's small matrix). Used by the ``kuairec`` protocol.
    truth : ndarray of float32 or None
        Synthetic data only: noise-free expected label aligned with ``fully_observed`` rows.
    user_features, item_features : FeatureTable or None
        Side features aligned with ``users`` / ``items``.
    label_name : str
        What ``label`` means: ``watch_ratio``, ``rating``, ...
    source : str
        ``kuairec``, ``generic`` or ``movielens-100k``.
    meta : dict
        JSON-friendly facts about the load (paths, policies, counts, fingerprint).
    """

    users: IdMap
    items: IdMap
    interactions: Interactions
    fully_observed: Interactions | None = None
    truth: NDArray[np.float32] | None = None
    user_features: FeatureTable | None = None
    item_features: FeatureTable | None = None
    social: dict[int, list[int]] | None = None
    label_name: str = "label"
    source: str = "generic"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, table, ids in (
            ("user_features", self.user_features, self.users),
            ("item_features", self.item_features, self.items),
        ):
            if table is not None and len(table) != len(ids):
                raise ValueError(f"Dataset.{name} has {len(table)} rows, expected {len(ids)}")
        if self.truth is not None and (
            self.fully_observed is None or len(self.truth) != len(self.fully_observed)
        ):
            raise ValueError("Dataset.truth must align with Dataset.fully_observed")

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def with_interactions(self, interactions: Interactions, **changes: Any) -> Dataset:
        """A shallow copy with another training pool (vocabularies and features shared)."""
        kwargs: dict[str, Any] = {
            "users": self.users,
            "items": self.items,
            "interactions": interactions,
            "fully_observed": self.fully_observed,
            "truth": self.truth,
            "user_features": self.user_features,
            "item_features": self.item_features,
            "social": self.social,
            "label_name": self.label_name,
            "source": self.source,
            "meta": dict(self.meta),
        }
        kwargs.update(changes)
        return Dataset(**kwargs)

    def summary(self) -> dict[str, Any]:
        """JSON-friendly description used by ``reelrec data check``."""
        inter = self.interactions
        out: dict[str, Any] = {
            "source": self.source,
            "label": self.label_name,
            "users": self.n_users,
            "items": self.n_items,
            "interactions": len(inter),
            "density": len(inter) / max(1, self.n_users * self.n_items),
        }
        if len(inter):
            q = np.quantile(inter.label, [0.0, 0.25, 0.5, 0.75, 0.99, 1.0])
            out["label_quantiles"] = dict(
                zip(["min", "25%", "50%", "75%", "99%", "max"], [float(x) for x in q], strict=True)
            )
            out["label_mean"] = float(inter.label.mean())
            ts = inter.timestamp[~np.isnan(inter.timestamp)]
            out["time_range"] = [float(ts.min()), float(ts.max())] if len(ts) else None
            out["rows_per_user_median"] = float(np.median(np.bincount(inter.user, minlength=self.n_users)))
        if self.fully_observed is not None:
            out["fully_observed"] = {
                "interactions": len(self.fully_observed),
                "users": len(np.unique(self.fully_observed.user)),
                "items": len(np.unique(self.fully_observed.item)),
            }
        out["user_features"] = self.user_features.kinds if self.user_features is not None else {}
        out["item_features"] = self.item_features.kinds if self.item_features is not None else {}
        out.update({k: v for k, v in self.meta.items() if k not in out})
        return out
