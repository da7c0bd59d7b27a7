"""The hybrid model's hyperparameter checks and its learned state as safetensors arrays plus JSON (no pickle)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from reelrec.features import FeaturePipeline
from reelrec.models._hybrid_parts import LABEL_KINDS
from reelrec.models._hybrid_select import Choice
from reelrec.models._hybrid_session import ItemMap
from reelrec.models._hybrid_taste import Taste, TasteColumns

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
        "fit_seconds": dict(getattr(model, "fit_seconds_", {})),
    }
    taste, cols = getattr(model, "taste_", None), getattr(model, "taste_cols_", None)
    if taste is not None and cols is not None:
        tensors.update(taste_user=taste.user_weights, taste_videos=taste.videos, taste_map_bias=taste.user_map_bias,
                       taste_columns=cols.columns)
        if taste.user_map is not None:
            tensors["taste_map"] = taste.user_map
        extra["taste_pipe"] = cols.pipe.to_json()
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
    # Wall seconds per fit phase; artifacts from before the breakdown have none.
    model.fit_seconds_ = {str(k): float(v) for k, v in extra.get("fit_seconds", {}).items()}
    model.user_pipe_ = None if extra["user_pipe"] is None else FeaturePipeline.from_json(extra["user_pipe"])
    item_pipe = extra.get("item_pipe")
    model.item_map_ = None
    if item_pipe is not None and "item_map" in tensors:
        model.item_map_ = ItemMap(FeaturePipeline.from_json(item_pipe), tensors["item_map"], tensors["item_map_bias"])
    model.taste_ = model.taste_cols_ = None  # artifacts from before the taste part have none
    if "taste_user" in tensors and extra.get("taste_pipe") is not None:
        model.taste_cols_ = TasteColumns(FeaturePipeline.from_json(extra["taste_pipe"]),
                                         np.asarray(tensors["taste_columns"], np.int64))
        model.taste_ = Taste(
            np.asarray(tensors["taste_user"], np.float32), np.asarray(tensors["taste_videos"], np.float32),
            tensors.get("taste_map"), np.asarray(tensors["taste_map_bias"], np.float32),
        )


def check_params(model: Hybrid) -> None:
    """Reject bad hyperparameters before any work, naming the parameter and what was expected."""
    if model.label_kind != "auto" and model.label_kind not in LABEL_KINDS:
        raise ValueError(f"label_kind={model.label_kind!r}, must be 'auto' or one of {', '.join(LABEL_KINDS)}")
    for name in ("embedding_size", "epochs", "blend_steps", "max_validation_users", "ials_size"):
        value = getattr(model, name)
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name}={value!r}, must be an integer >= 1")
    for name in ("ease_scales", "mf_regs"):
        values = getattr(model, name)
        if not values or not all(np.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"{name}={values!r}, must be a non-empty list of numbers > 0")
    if any(k < 1 for k in model.other_sizes):
        raise ValueError(f"other_sizes={model.other_sizes!r}, must be integers >= 1")
    if any(not r > 0 for r in model.taste_regs) or any(not w > 0 for w in model.taste_weights):
        raise ValueError(f"taste_regs={model.taste_regs!r}, taste_weights={model.taste_weights!r}: must be numbers > 0")
    if any(not (r > 0 and a >= 0) for r, a in model.ials_options):
        raise ValueError(f"ials_options={model.ials_options!r}, must be [reg > 0, alpha >= 0] pairs")
    if model.ease_input not in ("binary", "residual"):
        raise ValueError(f"ease_input={model.ease_input!r}, must be 'binary' or 'residual'")
    if model.rating_judge not in ("both", "high"):
        raise ValueError(f"rating_judge={model.rating_judge!r}, must be 'both' or 'high'")
    if not 0 < model.validation_fraction < 1:
        raise ValueError(f"validation_fraction={model.validation_fraction!r}, must be in (0, 1)")
    if not model.half_life > 0:
        raise ValueError(f"half_life={model.half_life!r}, must be > 0")
    if model.progress not in (True, False, "auto"):
        raise ValueError(f"progress={model.progress!r}, must be True, False or 'auto'")
