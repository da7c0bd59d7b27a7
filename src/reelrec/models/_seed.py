"""The ``notebook`` preset (alias ``seed``): the reference notebook's two-tower regressor, kept as a fair baseline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Literal, cast

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray
from torch import nn
from torch.nn import functional as F

from reelrec.data._dataset import Dataset, FeatureTable
from reelrec.data._vocab import IdMap
from reelrec.features import EncodedFeatures, FeaturePipeline
from reelrec.models._base import Recommender
from reelrec.models._nn_towers import mlp
from reelrec.models._space import Distribution, LogUniform
from reelrec.training import LoopOptions, adam, resolve_device, run_training
from reelrec.training._parallel import batch_count, shuffled_batches

#: The notebook's user inputs: KuaiRec's 18 encrypted one-hot codes, standardised as plain numbers.
USER_COLUMNS = [f"onehot_feat{i}" for i in range(18)]
#: The notebook's video inputs: two ids read as numbers plus per-video means of daily counters.
ITEM_CODE_COLUMNS = ["music_id", "video_tag_id"]
ITEM_COUNTER_COLUMNS = [
    f"mean_{c}"
    for c in (
        "show_cnt",
        "play_cnt",
        "play_duration",
        "complete_play_cnt",
        "valid_play_cnt",
        "long_time_play_cnt",
        "short_time_play_cnt",
        "play_progress",
        "like_cnt",
        "comment_cnt",
        "follow_cnt",
        "share_cnt",
        "download_cnt",
        "report_cnt",
        "reduce_similar_cnt",
    )
]


#: Keras's Adam epsilon (torch's default is 1e-8).
KERAS_ADAM_EPSILON = 1e-7


class SeedNet(nn.Module):
    """Two MLP towers (ReLU between layers, linear last layer) whose L2-normalised outputs are dotted.

    The cosine lies in [-1, 1], the range the labels are min-max scaled to. (A ReLU on the last layer
    would make every cosine non-negative, i.e. no prediction below the middle of the label range.)
    Layers start as Keras's ``Dense`` does (Glorot-uniform weights, zero biases), not as torch's
    ``Linear`` (Kaiming-uniform weights and biases), so the preset starts where the notebook starts.
    """

    def __init__(self, n_user: int, n_item: int, sizes: list[int]) -> None:
        super().__init__()
        self.user_mlp = mlp([max(n_user, 1), *sizes])
        self.item_mlp = mlp([max(n_item, 1), *sizes])
        for layer in self.modules():
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)

    def user(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.user_mlp(_non_empty(x)), dim=1)

    def item(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.item_mlp(_non_empty(x)), dim=1)


def _non_empty(x: torch.Tensor) -> torch.Tensor:
    # A side without features sees a constant input: its tower then learns one shared vector.
    return x if x.shape[1] else x.new_ones((x.shape[0], 1))


class _SeedTask:
    """Batches of raw log rows; each tower runs once per unique user / video of the batch."""

    def __init__(
        self,
        net: SeedNet,
        user_x: torch.Tensor,
        item_x: torch.Tensor,
        user: NDArray[np.int32],
        item: NDArray[np.int32],
        target: NDArray[np.float32],
        batch_size: int,
        device: torch.device,
    ) -> None:
        self.module = net
        self.user_x, self.item_x = user_x.to(device), item_x.to(device)
        self.user = torch.from_numpy(user.astype(np.int64)).to(device)
        self.item = torch.from_numpy(item.astype(np.int64)).to(device)
        self.target = torch.from_numpy(target).to(device)
        self.batch_size = batch_size
        self.device = device

    def n_batches(self, epoch: int) -> int:
        return batch_count(len(self.user), self.batch_size)

    def batches(self, epoch: int, rng: np.random.Generator) -> Iterator[torch.Tensor]:
        return shuffled_batches(len(self.user), self.batch_size, rng, self.device)

    def step(self, idx: torch.Tensor) -> tuple[torch.Tensor, int]:
        uu, u_inv = torch.unique(self.user[idx], return_inverse=True)
        ii, i_inv = torch.unique(self.item[idx], return_inverse=True)
        u = self.module.user(self.user_x.index_select(0, uu))
        v = self.module.item(self.item_x.index_select(0, ii))
        pred = (u.index_select(0, u_inv) * v.index_select(0, i_inv)).sum(1)
        return F.mse_loss(pred.float(), self.target[idx]), len(idx)

    def validate(self) -> dict[str, float]:
        return {}


class SeedTwoTower(Recommender):
    """The reference notebook's model, reproduced as the ``notebook`` preset (a fair baseline, not our best).

    User and video towers are MLPs 256-128-96-48 with L2-normalised outputs; their dot product regresses
    the watch ratio clipped at ``clip`` and min-max scaled to [-1, 1] (MSE, Adam, lr 0.01, batch 512,
    2 epochs). Inputs are the notebook's: the 18 ``onehot_feat*`` user codes and the video's
    ``music_id`` / ``video_tag_id`` read as numbers, plus 15 per-video counter means, all standardised.
    On other data every numeric and categorical column is used, categories as their codes read as
    numbers. Predictions are mapped back to label units. Ranking uses the predicted label.

    Stability: stable (the preset is frozen so that comparisons with it stay meaningful).
    """

    name: ClassVar[str] = "notebook"
    regresses: ClassVar[bool] = True
    supports_cold_start: ClassVar[bool] = True
    supports_new_items: ClassVar[bool] = True

    def __init__(
        self,
        embedding_size: int = 48,
        hidden: list[int] | None = None,
        epochs: int = 2,
        learning_rate: float = 0.01,
        batch_size: int = 512,
        reg: float = 0.0,
        clip: float = 5.0,
        seed: int = 0,
        device: str = "auto",
        progress: bool | Literal["auto"] = "auto",
        checkpoint_dir: str | None = None,
        resume: bool = False,
        time_budget_s: float | None = None,
    ) -> None:
        self.embedding_size = embedding_size
        self.hidden = hidden
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.reg = reg
        self.clip = clip
        self.seed = seed
        self.device = device
        self.progress = progress
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.time_budget_s = time_budget_s

    @classmethod
    def fast_params(cls) -> dict[str, Any]:
        return {"epochs": 2, "batch_size": 256, "progress": False}

    @classmethod
    def search_space(cls) -> dict[str, Distribution]:
        # The preset is frozen; only its step size may adapt to the data.
        return {"learning_rate": LogUniform(1e-3, 0.1)}

    @property
    def sizes(self) -> list[int]:
        """Layer widths of each tower after its input: ``hidden`` then ``embedding_size``."""
        hidden = [256, 128, 96] if self.hidden is None else list(self.hidden)
        return [*hidden, self.embedding_size]

    def check_params(self) -> None:
        """Raise ``ValueError`` naming the first bad hyperparameter."""
        for name in ("embedding_size", "epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r}, must be an integer >= 1")
        for name in ("learning_rate", "clip"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{name}={value!r}, must be a number > 0")
        if isinstance(self.reg, bool) or not isinstance(self.reg, int | float) or not self.reg >= 0:
            raise ValueError(f"reg={self.reg!r}, must be a number >= 0")
        if self.hidden is not None and not all(isinstance(h, int) and h > 0 for h in self.hidden):
            raise ValueError(f"hidden={self.hidden!r}, expected a list of positive layer widths or None")
        resolve_device(self.device)

    # ------------------------------------------------------------------- fit
    def _fit(self, dataset: Dataset) -> None:
        self.check_params()
        device = resolve_device(self.device)
        inter = dataset.interactions
        if not np.isfinite(inter.label).all():
            raise ValueError("interactions.label holds NaN or inf; clean the labels before fitting")
        label = np.clip(inter.label, 0.0, self.clip)
        self.label_min_, self.label_max_ = float(label.min()), float(label.max())
        target = self._scale(label)
        self.user_pipe_, self.user_code_cols_ = _seed_pipeline(dataset.user_features, USER_COLUMNS, [])
        self.item_pipe_, self.item_code_cols_ = _seed_pipeline(
            dataset.item_features, ITEM_CODE_COLUMNS, ITEM_COUNTER_COLUMNS
        )
        user_rows = np.unique(inter.user).astype(np.int32)
        item_rows = np.unique(inter.item).astype(np.int32)
        self.user_stats_ = self._fit_side(self.user_pipe_, dataset.user_features, user_rows)
        self.item_stats_ = self._fit_side(self.item_pipe_, dataset.item_features, item_rows)
        user_x = self._inputs(self.user_pipe_, dataset.user_features, self.user_stats_, dataset.n_users)
        item_x = self._inputs(self.item_pipe_, dataset.item_features, self.item_stats_, dataset.n_items)
        torch.manual_seed(self.seed)
        self.net_ = SeedNet(user_x.shape[1], item_x.shape[1], self.sizes).to(device)
        task = _SeedTask(self.net_, user_x, item_x, inter.user, inter.item, target, self.batch_size, device)
        optimizer = keras_adam(list(self.net_.parameters()), self.learning_rate, self.reg)
        options = LoopOptions(
            epochs=self.epochs,
            seed=self.seed,
            progress=self.progress,
            checkpoint_dir=self.checkpoint_dir,
            resume=self.resume,
            time_budget_s=self.time_budget_s,
            description="notebook",
        )
        fingerprint = {
            "model": self.name,
            "params": {k: v for k, v in self.get_params().items() if k in ("embedding_size", "hidden", "clip")},
            "n_users": dataset.n_users,
            "n_items": dataset.n_items,
            "n_rows": len(inter),
        }
        result = run_training(task, optimizer, device, options, fingerprint)
        self.history_ = result.history
        with torch.no_grad():
            self.user_vectors_ = self.net_.user(user_x.to(device)).cpu().numpy()
            self.item_vectors_ = self.net_.item(item_x.to(device)).cpu().numpy()

    def _scale(self, label: NDArray[np.float32]) -> NDArray[np.float32]:
        span = max(self.label_max_ - self.label_min_, 1e-12)
        return (2.0 * (label - self.label_min_) / span - 1.0).astype(np.float32)

    def _unscale(self, cosine: NDArray[np.float32]) -> NDArray[np.float32]:
        span = self.label_max_ - self.label_min_
        return ((cosine + 1.0) * 0.5 * span + self.label_min_).astype(np.float32)

    def _fit_side(
        self, pipe: FeaturePipeline | None, table: FeatureTable | None, rows: NDArray[np.int32]
    ) -> dict[str, list[float]]:
        """Fit the pipeline on training entities; category codes get their own mean/std (fallback only)."""
        if pipe is None or table is None:
            return {"mean": [], "std": []}
        pipe.fit(table, rows)
        codes = pipe.transform(table, rows).categorical.astype(np.float64)
        std = codes.std(axis=0) if len(codes) else np.ones(codes.shape[1])
        mean = codes.mean(axis=0) if len(codes) else np.zeros(codes.shape[1])
        return {"mean": mean.tolist(), "std": np.where(std > 0, std, 1.0).tolist()}

    def _inputs(
        self, pipe: FeaturePipeline | None, table: FeatureTable | None, stats: dict[str, list[float]], n: int
    ) -> torch.Tensor:
        if pipe is None or table is None:
            return torch.zeros((n, 0))
        return torch.from_numpy(_dense(pipe.transform(table), stats))

    # --------------------------------------------------------------- scoring
    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        return self._unscale(self.user_vectors_[users] @ self.item_vectors_.T)

    def _predict(self, users: NDArray[np.int32], items: NDArray[np.int32]) -> NDArray[np.float32]:
        return self._unscale((self.user_vectors_[users] * self.item_vectors_[items]).sum(1))

    @torch.no_grad()
    def _score_features(self, user_features: FeatureTable) -> NDArray[np.float32]:
        x = self._inputs(self.user_pipe_, user_features, self.user_stats_, len(user_features))
        device = next(self.net_.parameters()).device
        u = self.net_.user(x.to(device)).cpu().numpy()
        return self._unscale(u @ self.item_vectors_.T)

    @torch.no_grad()
    def _add_items(self, item_ids: NDArray, item_features: FeatureTable) -> NDArray[np.int32]:
        """Embed new videos with the item tower (content only: no interactions needed).

        Every attribute is replaced by a new object, never changed in place, so a shallow copy of the
        model taken before the call keeps serving the old catalogue consistently.
        """
        x = self._inputs(self.item_pipe_, item_features, self.item_stats_, len(item_ids))
        device = next(self.net_.parameters()).device
        vectors = self.net_.item(x.to(device)).cpu().numpy().astype(np.float32)
        n_old, n_new = self.n_items, len(item_ids)
        self.items_ = IdMap(np.concatenate([self.items_.raw_ids, self.items_.coerce(item_ids)]))
        seen = self.seen_
        self.seen_ = sp.csr_matrix(
            (seen.data, seen.indices, seen.indptr), shape=(seen.shape[0], n_old + n_new)
        )
        self.item_popularity_ = np.concatenate([self.item_popularity_, np.zeros(n_new, np.float32)])
        self.item_vectors_ = np.ascontiguousarray(np.vstack([self.item_vectors_, vectors]), dtype=np.float32)
        return np.arange(n_old, n_old + n_new, dtype=np.int32)

    def item_embeddings(self) -> NDArray[np.float32]:
        """Unit-length video vectors, shape (n_items, embedding_size) (do not modify)."""
        self._check_fitted()
        return self.item_vectors_

    # ----------------------------------------------------------- persistence
    def _get_state(self) -> tuple[dict[str, NDArray], dict[str, Any]]:
        tensors = {f"net.{k}": v.detach().cpu().numpy() for k, v in self.net_.state_dict().items()}
        tensors["user_vectors"] = self.user_vectors_
        tensors["item_vectors"] = self.item_vectors_
        extra = {
            "label_min": self.label_min_,
            "label_max": self.label_max_,
            "user_pipeline": None if self.user_pipe_ is None else self.user_pipe_.to_json(),
            "item_pipeline": None if self.item_pipe_ is None else self.item_pipe_.to_json(),
            "user_stats": self.user_stats_,
            "item_stats": self.item_stats_,
            "n_user_inputs": cast(nn.Linear, self.net_.user_mlp[0]).in_features,
            "n_item_inputs": cast(nn.Linear, self.net_.item_mlp[0]).in_features,
            "history": self.history_,
        }
        return tensors, extra

    def _set_state(self, tensors: dict[str, NDArray], extra: dict[str, Any]) -> None:
        try:
            self.label_min_, self.label_max_ = float(extra["label_min"]), float(extra["label_max"])
            self.user_stats_, self.item_stats_ = extra["user_stats"], extra["item_stats"]
            n_user, n_item = int(extra["n_user_inputs"]), int(extra["n_item_inputs"])
            pipes = extra["user_pipeline"], extra["item_pipeline"]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"seed state is incomplete: missing {exc}") from None
        self.user_pipe_ = None if pipes[0] is None else FeaturePipeline.from_json(pipes[0])
        self.item_pipe_ = None if pipes[1] is None else FeaturePipeline.from_json(pipes[1])
        self.history_ = list(extra.get("history", []))
        self.net_ = SeedNet(n_user, n_item, self.sizes)
        state = {k[4:]: torch.from_numpy(np.array(v)) for k, v in tensors.items() if k.startswith("net.")}
        self.net_.load_state_dict(state)
        self.net_.eval()
        self.user_vectors_ = np.asarray(tensors["user_vectors"], np.float32)
        self.item_vectors_ = np.asarray(tensors["item_vectors"], np.float32)


def keras_adam(params: list[nn.Parameter], lr: float, reg: float) -> torch.optim.Optimizer:
    """Adam with Keras's epsilon (1e-7), the notebook's optimiser; ``reg`` is L2 (coupled) weight decay.

    Keras adds epsilon before the second moment's bias correction, torch after it: the same update
    up to epsilon x sqrt(1 - 0.999^step), which only differs in the first few hundred steps.
    """
    optimizer = adam(params, lr, reg, decoupled=False)
    for group in optimizer.param_groups:
        group["eps"] = KERAS_ADAM_EPSILON
    return optimizer


def _seed_pipeline(
    table: FeatureTable | None, codes: list[str], counters: list[str]
) -> tuple[FeaturePipeline | None, list[str]]:
    """The notebook's columns when the table has them all, else every numeric and categorical column."""
    if table is None:
        return None, []
    wanted = codes + counters
    if all(c in table.kinds for c in wanted):
        return FeaturePipeline(columns=wanted, log1p=False, as_numeric=codes), []
    usable = [c for c, kind in table.kinds.items() if kind in ("numeric", "categorical")]
    if not usable:
        return None, []
    return FeaturePipeline(columns=usable, log1p=False), [c for c in usable if table.kinds[c] == "categorical"]


def _dense(enc: EncodedFeatures, stats: dict[str, list[float]]) -> NDArray[np.float32]:
    """Standardised numbers, then (fallback only) category codes standardised as numbers."""
    parts = [enc.numeric]
    if enc.categorical.shape[1]:
        mean = np.asarray(stats["mean"], np.float64)
        std = np.asarray(stats["std"], np.float64)
        parts.append(((enc.categorical - mean) / std).astype(np.float32))
    return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)
