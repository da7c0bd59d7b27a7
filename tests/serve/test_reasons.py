"""``serve.reasons``: which watched video explains a recommendation."""

from __future__ import annotations

import numpy as np

from reelrec.models._history import History
from reelrec.serve import ServeSettings, build_state
from reelrec.serve.reasons import MAX_REASON_VIEWS, because, reason_candidates
from tests.serve.conftest import memory_artifact


def test_candidates_are_watched_views_newest_first_each_once():
    h = History.of([4, 7, 4, 9, 2], skipped=[False, False, False, True, False])
    assert reason_candidates(h).tolist() == [2, 4, 7]
    long = History.of(np.arange(MAX_REASON_VIEWS + 20))
    assert len(reason_candidates(long)) == MAX_REASON_VIEWS and reason_candidates(long)[0] == MAX_REASON_VIEWS + 19


def test_because_is_the_argmax_cosine_and_none_without_similarity(dot_model, toy, artifact_root):
    art = memory_artifact(dot_model, toy, artifact_root / "dot", "dotreasons01")
    state = build_state(art, ServeSettings(artifact=artifact_root / "a"))
    emb = dot_model.item_embeddings()
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    targets = np.arange(20, 40, dtype=np.int32)
    h = History.of([1, 2, 3])
    got = because(state, h, targets)
    cos = unit[[3, 2, 1]] @ unit[targets].T  # newest first
    for j, reason in enumerate(got):
        best = int(np.argmax(cos[:, j]))
        assert reason == (toy.items.raw_ids[[3, 2, 1][best]].item() if cos[best, j] > 0 else None)
    assert because(state, None, targets) == [None] * 20
    assert because(state, History.of([1], skipped=[True]), targets) == [None] * 20
