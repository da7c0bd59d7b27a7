"""Hot-path JSON: compact bodies, padding dropped, NaN refused rather than emitted."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reelrec.serve import ServeSettings, load_state
from reelrec.serve.encode import item_scores, json_response, optional_floats


def test_json_response_is_compact_and_refuses_nan():
    r = json_response({"a": [1, 2.5], "b": "é"})
    assert r.body == '{"a":[1,2.5],"b":"é"}'.encode() and r.media_type == "application/json"
    with pytest.raises(ValueError):
        json_response({"x": float("nan")})


def test_optional_floats_turn_nan_into_none():
    assert optional_floats(np.array([1.5, np.nan], np.float32)) == [1.5, None]


def test_item_scores_drop_padding_and_add_details(artifact_root, toy):
    state = load_state(artifact_root / "a", ServeSettings(artifact=artifact_root / "a"))
    items = np.array([3, 0, -1], np.int32)
    scores = np.array([2.0, 1.0, np.nan], np.float32)
    plain = item_scores(state, items, scores)
    assert plain == [
        {"item_id": state.items.raw[3], "score": 2.0, "predicted_watch_ratio": None},
        {"item_id": state.items.raw[0], "score": 1.0, "predicted_watch_ratio": None},
    ]
    detailed = item_scores(state, items, scores, details=True, user=0)
    assert detailed[0]["prediction"] is None  # popularity does not regress
    assert detailed[0]["features"]["tags"] == toy.item_features.frame["tags"][3].to_list()
    json.dumps(detailed, allow_nan=False)
