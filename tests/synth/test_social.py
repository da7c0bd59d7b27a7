"""The friendship graph: symmetric, closed over its members, KuaiRec-like degrees, taste-assorted."""

from __future__ import annotations

import numpy as np

from reelrec.synth._social import friend_lists, social_frame


def test_graph_is_symmetric_closed_and_bounded() -> None:
    rng = np.random.default_rng(0)
    taste = rng.normal(size=(3000, 8)).astype(np.float32)
    lists = friend_lists(rng, taste, 472)
    assert len(lists) == 472
    for user, friends in lists.items():
        assert 1 <= len(friends) <= 5 and user not in friends
        for friend in friends:
            assert user in lists[friend]
    degree = np.array([len(f) for f in lists.values()])
    assert 1.2 < degree.mean() < 1.8 and np.median(degree) == 1


def test_friends_share_hidden_taste() -> None:
    rng = np.random.default_rng(1)
    taste = rng.normal(size=(5000, 8)).astype(np.float32)
    lists = friend_lists(rng, taste, 400)
    pairs = np.array([(u, f) for u, fr in lists.items() for f in fr])
    unit = taste / np.linalg.norm(taste, axis=1, keepdims=True)
    friends_sim = (unit[pairs[:, 0]] * unit[pairs[:, 1]]).sum(axis=1).mean()
    shuffled = rng.permutation(pairs[:, 1])
    random_sim = (unit[pairs[:, 0]] * unit[shuffled]).sum(axis=1).mean()
    assert friends_sim > random_sim + 0.1


def test_frame_writes_python_literal_lists() -> None:
    frame = social_frame({3: [7], 7: [3, 9], 9: [7]})
    assert frame["user_id"].to_list() == [3, 7, 9]
    assert frame["friend_list"].to_list() == ["[7]", "[3, 9]", "[7]"]
