"""What a two-tower fit learns, in one object, and its round trip through an artifact (safetensors + JSON).

The JSON keys are those of earlier artifacts, so models saved before this layout still load; the
session inputs (``user_pre``, ``user_taste``) are new and optional.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np
import torch
from numpy.typing import NDArray

from reelrec.features import FeaturePipeline
from reelrec.models._nn_inputs import SideShape
from reelrec.models._nn_towers import TowerLayout, TwoTowerNet
from reelrec.models._tt_config import TwoTowerConfig
from reelrec.models._tt_scorer import TargetScale, TowerScorer

T = TypeVar("T")


@dataclass
class TwoTowerState:
    """The learned two-tower: network, exported vectors, feature pipelines and the choices made in fit."""

    loss: str
    scale: TargetScale
    user_shape: SideShape
    item_shape: SideShape
    n_history: int
    taste: bool
    user_pipe: FeaturePipeline | None
    item_pipe: FeaturePipeline | None
    net: TwoTowerNet
    options: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    refit_history: list[dict[str, Any]] = field(default_factory=list)
    watch_weight: float = 1.0
    watch_tuning: dict[str, float] = field(default_factory=dict)
    residual_lambda: float | None = None
    residual_scores: dict[str, float] = field(default_factory=dict)
    user_factors: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    item_factors: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    watch_dim: int = 0
    #: Each known user's first user-tower layer before its activation (sessions shift it).
    user_pre: NDArray[np.float32] | None = None
    #: Each known user's label-weighted history bag (sessions mix into it), when the tower reads one.
    user_taste: NDArray[np.float32] | None = None
    _scorer: TowerScorer | None = field(default=None, repr=False)

    def scorer(self) -> TowerScorer:
        """The pure scorer over the current vectors (rebuilt when they change: call :meth:`changed`)."""
        if self._scorer is None:
            self._scorer = TowerScorer(
                self.item_factors,
                self.net.layout.retrieval,
                self.watch_dim,
                float(self.net.offset.item()),
                self.scale,
                self.watch_weight,
            )
        return self._scorer

    def changed(self) -> None:
        self._scorer = None

    def to_artifact(self) -> tuple[dict[str, NDArray], dict[str, Any]]:
        tensors = {f"net.{k}": v.detach().cpu().numpy() for k, v in self.net.state_dict().items()}
        tensors["user_factors"] = self.user_factors
        tensors["item_factors"] = self.item_factors
        if self.user_pre is not None:
            tensors["user_pre"] = self.user_pre
        if self.user_taste is not None:
            tensors["user_taste"] = self.user_taste
        s = self.scale
        extra = {
            "loss": self.loss,
            "target": s.target,
            "target_mean": s.mean,
            "target_std": s.std,
            "target_range": [s.low, s.high],
            "user_shape": self.user_shape.to_json(),
            "item_shape": self.item_shape.to_json(),
            "n_history": self.n_history,
            "taste": self.taste,
            "user_pipeline": None if self.user_pipe is None else self.user_pipe.to_json(),
            "item_pipeline": None if self.item_pipe is None else self.item_pipe.to_json(),
            "options": self.options,
            "history": self.history,
            "best_epoch": self.best_epoch,
            "watch_weight": self.watch_weight,
            "watch_tuning": self.watch_tuning,
            "watch_dim": self.watch_dim,
            "residual_lambda": self.residual_lambda,
            "residual_scores": self.residual_scores,
        }
        return tensors, extra

    @classmethod
    def from_artifact(cls, config: TwoTowerConfig, tensors: dict[str, NDArray], extra: dict[str, Any]) -> TwoTowerState:
        """Inverse of :meth:`to_artifact`; ``ValueError`` names a missing key."""
        try:
            lo, hi = (float(v) for v in extra["target_range"])
            scale = TargetScale(extra["target"], float(extra["target_mean"]), float(extra["target_std"]), lo, hi)
            loss = extra["loss"]
            user_shape = SideShape.from_json(extra["user_shape"])
            item_shape = SideShape.from_json(extra["item_shape"])
            n_history, taste = int(extra["n_history"]), bool(extra["taste"])
            net = build_net(config, loss, user_shape, item_shape, n_history, taste)
            state = {k[4:]: torch.from_numpy(np.array(v)) for k, v in tensors.items() if k.startswith("net.")}
            net.load_state_dict(state)
            net.eval()
            pipes = [
                None if extra[k] is None else FeaturePipeline.from_json(extra[k])
                for k in ("user_pipeline", "item_pipeline")
            ]
            out = cls(
                loss=loss,
                scale=scale,
                user_shape=user_shape,
                item_shape=item_shape,
                n_history=n_history,
                taste=taste,
                user_pipe=pipes[0],
                item_pipe=pipes[1],
                net=net,
                options=dict(extra.get("options", {})),
                history=list(extra.get("history", [])),
                best_epoch=extra.get("best_epoch"),
                watch_weight=float(extra["watch_weight"]),
                watch_tuning=dict(extra.get("watch_tuning", {})),
                residual_lambda=extra.get("residual_lambda"),
                residual_scores=dict(extra.get("residual_scores", {})),
                user_factors=np.asarray(tensors["user_factors"], np.float32),
                item_factors=np.asarray(tensors["item_factors"], np.float32),
                watch_dim=int(extra["watch_dim"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"two-tower state is incomplete: missing {exc}") from None
        if "user_pre" in tensors:
            out.user_pre = np.asarray(tensors["user_pre"], np.float32)
        if "user_taste" in tensors:
            out.user_taste = np.asarray(tensors["user_taste"], np.float32)
        return out


def build_net(
    config: TwoTowerConfig, loss: str, user_shape: SideShape, item_shape: SideShape, n_history: int, taste: bool
) -> TwoTowerNet:
    """The network a fit with ``config`` trains (and a load rebuilds before reading its weights)."""
    d = config.embedding_size
    layout = TowerLayout(
        retrieval=d if loss != "regression" else 0,
        regression=max(d // 2, 1) if loss != "retrieval" else 0,
    )
    return TwoTowerNet(
        user_shape,
        item_shape,
        n_history,
        layout,
        hidden=list(config.hidden) if config.hidden is not None else [256],
        id_dim=d,
        history_dim=d,
        dropout=config.dropout,
        normalize=config.normalize,
        taste=taste,
    )


class Learned(Generic[T]):
    """``model.<name>_`` reads (and writes) ``model.state_.<name>``: learned state lives in one object."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = name.rstrip("_")

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        if "state_" not in obj.__dict__:
            raise AttributeError(f"{type(obj).__name__} is not fitted: no {self.key}_")
        return getattr(obj.state_, self.key)  # type: ignore[no-any-return]

    def __set__(self, obj: Any, value: T) -> None:
        setattr(obj.state_, self.key, value)
        obj.state_.changed()
