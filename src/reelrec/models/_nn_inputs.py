"""Per-entity input tensors for the towers (features and id codes), gathered by index per batch."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from numpy.typing import NDArray

from reelrec.data._dataset import FeatureTable
from reelrec.features import EncodedFeatures, FeaturePipeline

#: Longest multi-valued list kept per row (KuaiRec tags: at most 4; MovieLens genres: at most 6).
MAX_MULTI = 32


@dataclass
class SideInputs:
    """Everything a tower reads about ``n`` users or videos, as tensors aligned by row.

    Attributes
    ----------
    dense : Tensor of float32, shape (n, d)
        Standardised numbers and missing-value flags.
    categorical : Tensor of int64, shape (n, c)
        Category codes, 0 = missing / unknown.
    multi : list of Tensor of int64, shape (n, L_j)
        Multi-valued codes padded with 0 (0 also means unknown; both are left out of the mean).
    ids : Tensor of int64, shape (n,)
        Id embedding rows, 0 = out of vocabulary (an id never seen in training).
    """

    dense: torch.Tensor
    categorical: torch.Tensor
    multi: list[torch.Tensor] = field(default_factory=list)
    ids: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.dense.shape[0])

    def take(self, rows: torch.Tensor) -> SideInputs:
        """Rows ``rows`` (int64 tensor on the same device) as a new :class:`SideInputs`."""
        return SideInputs(
            self.dense.index_select(0, rows),
            self.categorical.index_select(0, rows),
            [m.index_select(0, rows) for m in self.multi],
            None if self.ids is None else self.ids.index_select(0, rows),
        )

    def to(self, device: torch.device) -> SideInputs:
        return SideInputs(
            self.dense.to(device),
            self.categorical.to(device),
            [m.to(device) for m in self.multi],
            None if self.ids is None else self.ids.to(device),
        )

    def with_ids(self, ids: torch.Tensor | None) -> SideInputs:
        return SideInputs(self.dense, self.categorical, self.multi, ids)


def pad_ragged(offsets: NDArray[np.int64], codes: NDArray[np.int64], max_len: int = MAX_MULTI) -> NDArray[np.int64]:
    """CSR-style lists to a zero-padded (n, L) matrix, L = min(longest list, ``max_len``), no row loop."""
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    width = int(min(max(int(lengths.max()) if n else 0, 1), max_len))
    out = np.zeros((n, width), np.int64)
    rows = np.repeat(np.arange(n), lengths)
    pos = np.arange(len(codes)) - np.repeat(offsets[:-1], lengths)
    keep = pos < width
    out[rows[keep], pos[keep]] = codes[keep]
    return out


def side_inputs(enc: EncodedFeatures | None, n: int, ids: NDArray[np.int64] | None = None) -> SideInputs:
    """Tensors for ``n`` entities from encoded features (``None``: no features) and id codes."""
    if enc is None:
        dense = np.zeros((n, 0), np.float32)
        cat = np.zeros((n, 0), np.int64)
        multi: list[NDArray[np.int64]] = []
    else:
        dense = np.concatenate([enc.numeric, enc.numeric_missing], axis=1).astype(np.float32, copy=False)
        cat = enc.categorical
        multi = [pad_ragged(o, c) for o, c in enc.multi]
    return SideInputs(
        torch.from_numpy(np.array(dense, dtype=np.float32, order="C")),
        torch.from_numpy(np.array(cat, dtype=np.int64, order="C")),
        [torch.from_numpy(m) for m in multi],
        None if ids is None else torch.from_numpy(np.asarray(ids, np.int64)),
    )


@dataclass
class SideShape:
    """Input widths a tower is built for (fixed at fit time, saved with the model)."""

    n_dense: int = 0
    categorical: list[int] = field(default_factory=list)
    multi: list[int] = field(default_factory=list)
    n_ids: int = 0

    def to_json(self) -> dict:
        return {"n_dense": self.n_dense, "categorical": self.categorical, "multi": self.multi, "n_ids": self.n_ids}

    @classmethod
    def from_json(cls, data: dict) -> SideShape:
        return cls(int(data["n_dense"]), list(data["categorical"]), list(data["multi"]), int(data["n_ids"]))


def shape_of(pipe: FeaturePipeline | None, n_ids: int) -> SideShape:
    """The :class:`SideShape` a fitted pipeline produces (plus ``n_ids`` id rows, 0 = no id embedding)."""
    if pipe is None:
        return SideShape(n_ids=n_ids)
    spec = pipe.spec_
    return SideShape(
        n_dense=len(spec.numeric_columns) + len(spec.numeric_missing_columns),
        categorical=list(spec.categorical_cardinalities),
        multi=list(spec.multi_cardinalities),
        n_ids=n_ids,
    )


def encode(pipe: FeaturePipeline | None, table: FeatureTable | None, n: int) -> EncodedFeatures | None:
    """Transform ``table`` with ``pipe`` (``None`` when the model uses no features on this side)."""
    if pipe is None or table is None:
        return None
    return pipe.transform(table)
