"""The hybrid model's learned state as safetensors arrays plus JSON (no pickle)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from reelrec.features import FeaturePipeline
from reelrec.models._hybrid_select import Choice
from reelrec.models._hybrid_session import ItemMap

if TYPE_CHECKING:
    from reelrec.models._hybrid import Hybrid

_REQUIRED = ("user_factors", "user_bias", "item_factors", "item_bias", "log_popularity")
_OPTIONAL = ("ease_weights", "ease_values", "user_map", "user_map_bias", "ials_user", "ials_item")


def get_state(model: Hybrid) -> tuple[dict[str, NDArray], dict[str, Any]]:
    """Arrays and JSON that :func:`set_state` turns back into the same fitted model."""
    tensors: dict[str, NDArray] = {name: getattr(model, name + "_") for name in _REQUIRED}
    for name in _OPTIONAL:
        value = getattr(model, name + "_", None)
        if value is not None:
            tensors[name] = value
    item_map = model.item_map_
    if item_map is not None:
        tensors["item_map"], tensors["item_map_bias"] = item_map.weights, item_map.intercept
    extra = {
        "label_kind": model.label_kind_,
        "global_mean": model.global_mean_,
        "liked_target": model.liked_target_,
        "skip_target": model.skip_target_,
        "choice": model.choice_.to_dict(),
        "user_pipe": None if model.user_pipe_ is None else model.user_pipe_.to_json(),
        "item_pipe": None if item_map is None else item_map.pipe.to_json(),
    }
    return tensors, extra


def set_state(model: Hybrid, tensors: dict[str, NDArray], extra: dict[str, Any]) -> None:
    """Inverse of :func:`get_state` (artifacts from before the iALS part and the item map load too)."""
    for name in _REQUIRED:
        setattr(model, name + "_", np.asarray(tensors[name], np.float32))
    for name in _OPTIONAL:
        setattr(model, name + "_", tensors.get(name))
    model.label_kind_ = extra["label_kind"]
    model.global_mean_ = float(extra["global_mean"])
    model.liked_target_ = float(extra["liked_target"])
    model.skip_target_ = float(extra.get("skip_target", -model.liked_target_))
    model.choice_ = Choice.from_dict(extra["choice"])
    model.user_pipe_ = None if extra["user_pipe"] is None else FeaturePipeline.from_json(extra["user_pipe"])
    item_pipe = extra.get("item_pipe")
    model.item_map_ = None
    if item_pipe is not None and "item_map" in tensors:
        model.item_map_ = ItemMap(FeaturePipeline.from_json(item_pipe), tensors["item_map"], tensors["item_map_bias"])
