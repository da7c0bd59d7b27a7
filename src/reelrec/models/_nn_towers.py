"""Tower building blocks: feature encoders (embeddings, bags, ids), MLPs, and the two-tower network."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from reelrec.models._nn_inputs import SideInputs, SideShape


def mlp(sizes: list[int], dropout: float = 0.0, last_activation: bool = False) -> nn.Sequential:
    """Linear layers of the given widths with ReLU (and dropout) between them; the last is linear."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or last_activation:
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class FeatureEncoder(nn.Module):
    """Concatenate a side's inputs: dense numbers, category embeddings, mean tag bags, id embedding.

    All categorical columns share one table (codes shifted by per-column offsets) so a batch costs one
    lookup however many columns there are; code 0 of every column is its missing/unknown row.
    """

    cat_offsets: torch.Tensor  # a buffer, registered in __init__

    def __init__(self, shape: SideShape, cat_dim: int, multi_dim: int, id_dim: int) -> None:
        super().__init__()
        self.shape = shape
        cards = shape.categorical
        self.cat = nn.Embedding(sum(cards), cat_dim) if cards else None
        offsets = torch.tensor([0, *cards[:-1]], dtype=torch.int64).cumsum(0) if cards else torch.zeros(0)
        self.register_buffer("cat_offsets", offsets.to(torch.int64), persistent=False)
        self.multi = nn.ModuleList(
            nn.EmbeddingBag(card, multi_dim, mode="mean", padding_idx=0) for card in shape.multi
        )
        self.ids = nn.Embedding(shape.n_ids, id_dim) if shape.n_ids else None
        self.out_dim = shape.n_dense + len(cards) * cat_dim + len(shape.multi) * multi_dim
        self.out_dim += id_dim if shape.n_ids else 0
        for emb in [self.cat, self.ids, *self.multi]:
            if emb is not None:
                nn.init.normal_(emb.weight, std=0.05)

    def forward(self, x: SideInputs) -> torch.Tensor:
        parts = [x.dense] if x.dense.shape[1] else []
        if self.cat is not None:
            parts.append(self.cat(x.categorical + self.cat_offsets).flatten(1))
        parts.extend(bag(m) for bag, m in zip(self.multi, x.multi, strict=True))
        if self.ids is not None:
            assert x.ids is not None, "id codes are required when the encoder has an id embedding"
            parts.append(self.ids(x.ids))
        if not parts:
            return x.dense.new_zeros((len(x), 0))
        return torch.cat(parts, dim=1)


@dataclass
class TowerLayout:
    """Where each head lives in a tower's output vector (the exported embeddings keep this layout).

    User vector: ``[retrieval (d) | regression (r) | regression bias (1)]``; item vector adds the
    retrieval bias (the learned log prior of each video) as a last column.
    """

    retrieval: int
    regression: int

    @property
    def user_dim(self) -> int:
        return self.retrieval + self.regression + 1

    @property
    def item_dim(self) -> int:
        return self.retrieval + self.regression + 2


class TwoTowerNet(nn.Module):
    """User and item towers over features, id embeddings and (user side) a bag of watched videos.

    The user tower reads the mean embedding of the user's training videos (YouTube-DNN style): a
    strong signal on sparse data, and it lets a user with no id embedding still be scored.
    """

    def __init__(
        self,
        user_shape: SideShape,
        item_shape: SideShape,
        n_history: int,
        layout: TowerLayout,
        hidden: list[int],
        cat_dim: int = 16,
        multi_dim: int = 16,
        id_dim: int = 64,
        history_dim: int = 64,
        dropout: float = 0.0,
        normalize: bool = True,
        taste: bool = False,
    ) -> None:
        super().__init__()
        self.layout = layout
        self.normalize = normalize
        self.user_enc = FeatureEncoder(user_shape, cat_dim, multi_dim, id_dim)
        self.item_enc = FeatureEncoder(item_shape, cat_dim, multi_dim, id_dim)
        self.history = (
            nn.EmbeddingBag(n_history, history_dim, mode="mean", padding_idx=0) if n_history else None
        )
        if self.history is not None:
            nn.init.normal_(self.history.weight, std=0.05)
        # The "taste" bag weights each watched video by the user's standardised label for it: not only
        # what the user watched but how much more or less than usual (AutoRec-like explicit signal).
        self.taste = (
            nn.EmbeddingBag(n_history, history_dim, mode="sum", padding_idx=0) if n_history and taste else None
        )
        if self.taste is not None:
            nn.init.normal_(self.taste.weight, std=0.05)
        user_in = self.user_enc.out_dim + (history_dim + 1 if n_history else 0)
        user_in += history_dim if self.taste is not None else 0
        item_in = self.item_enc.out_dim
        self.user_mlp = mlp([max(user_in, 1), *hidden, layout.user_dim], dropout)
        self.item_mlp = mlp([max(item_in, 1), *hidden, layout.item_dim], dropout)
        # Per-id biases straight from a table (zero at the start): what matrix factorisation gets right
        # about popularity and quality. The item table holds the watch bias and the retrieval log-prior.
        self.user_bias = nn.Embedding(user_shape.n_ids, 1) if user_shape.n_ids else None
        self.item_bias = nn.Embedding(item_shape.n_ids, 2) if item_shape.n_ids else None
        for table in (self.user_bias, self.item_bias):
            if table is not None:
                nn.init.zeros_(table.weight)
        self.log_scale = nn.Parameter(torch.tensor(math.log(10.0)))
        #: Return ``[out | first-layer pre-activation | taste bag]`` from :meth:`user_vectors` (export).
        self.export_inputs = False
        self.offset = nn.Parameter(torch.zeros(()))

    def user_vectors(
        self,
        x: SideInputs,
        history: torch.Tensor | None = None,
        history_offsets: torch.Tensor | None = None,
        history_labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """User tower output, shape (n, user_dim).

        ``history`` is either a (n, L) zero-padded code matrix, or flat codes with ``history_offsets``
        (n,) as for ``nn.EmbeddingBag``; ``None`` means no user has a history (cold start).
        ``history_labels`` (same shape as ``history``) are the standardised labels of those videos.
        With :attr:`export_inputs` set, the first layer's pre-activation and the taste bag follow the
        output (``[out | pre | taste]``): the state a session later shifts.
        """
        n = len(x)
        bag = has = taste = None
        if self.history is not None and history is not None:
            bag = self.history(history, history_offsets)
            has = (bag.abs().sum(1, keepdim=True) > 0).to(bag.dtype)
        if self.taste is not None and history is not None and history_labels is not None:
            if history_offsets is None:
                counts = (history > 0).sum(1)
            else:
                counts = torch.diff(history_offsets, append=history_offsets.new_tensor([len(history)]))
            taste = self.taste(history, history_offsets, per_sample_weights=history_labels.to(x.dense.dtype))
            taste = taste / counts.clamp(min=1).to(taste.dtype)[:, None]
        return self.user_vectors_from_bags(x, bag, has, taste, n)

    def user_vectors_from_bags(
        self,
        x: SideInputs,
        bag: torch.Tensor | None,
        has: torch.Tensor | None,
        taste: torch.Tensor | None,
        n: int | None = None,
    ) -> torch.Tensor:
        """User tower output from ready history bags (``None``: no history); see :meth:`user_vectors`."""
        n = len(x) if n is None else n
        parts = [self.user_enc(x)]
        if self.history is not None:
            zeros = x.dense.new_zeros((n, self.history.embedding_dim))
            parts += [zeros, x.dense.new_zeros((n, 1))] if bag is None or has is None else [bag, has]
        if self.taste is not None:
            parts.append(x.dense.new_zeros((n, self.taste.embedding_dim)) if taste is None else taste)
        h = torch.cat(parts, 1) if parts[0].shape[1] or len(parts) > 1 else x.dense.new_ones((len(x), 1))
        pre = self.first_user_layer()(h)
        out = self.user_mlp[1:](pre)
        if x.ids is not None and self.user_bias is not None:
            out = out + F.pad(self.user_bias(x.ids), (self.layout.user_dim - 1, 0))
        if self.export_inputs:
            kept = [out, pre]
            if self.taste is not None:
                kept.append(parts[-1])
            return torch.cat(kept, 1)
        return out

    def first_user_layer(self) -> nn.Linear:
        """The user MLP's first (linear) layer: its input holds the history bags."""
        layer = self.user_mlp[0]
        assert isinstance(layer, nn.Linear)
        return layer

    def history_columns(self) -> tuple[int, int]:
        """Where the history bag starts in the user MLP's input, and the bag width (0: no bag)."""
        width = 0 if self.history is None else self.history.embedding_dim
        return self.user_enc.out_dim, width

    def item_vectors(self, x: SideInputs) -> torch.Tensor:
        """Item tower output, shape (n, item_dim)."""
        h = self.item_enc(x)
        if h.shape[1] == 0:
            h = x.dense.new_ones((len(x), 1))
        out = self.item_mlp(h)
        if x.ids is not None and self.item_bias is not None:
            out = out + F.pad(self.item_bias(x.ids), (self.layout.item_dim - 2, 0))
        return out

    # ---------------------------------------------------------------- heads
    def retrieval_user(self, u: torch.Tensor) -> torch.Tensor:
        r = u[:, : self.layout.retrieval]
        if self.normalize:
            r = F.normalize(r, dim=1) * self.log_scale.clamp(0.0, math.log(100.0)).exp()
        return r

    def retrieval_item(self, i: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Item retrieval embeddings and their log-prior biases."""
        r = i[:, : self.layout.retrieval]
        if self.normalize:
            r = F.normalize(r, dim=1)
        return r, i[:, -1]

    def regression(self, u: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        """Predicted (standardised) label for aligned user and item rows, shape (n,)."""
        d, r = self.layout.retrieval, self.layout.regression
        dot = (u[:, d : d + r] * i[:, d : d + r]).sum(1)
        return dot + u[:, d + r] + i[:, d + r] + self.offset
