"""``social_network.csv``: a sparse, symmetric friendship graph among a few hundred users."""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import NDArray

# KuaiRec: friends per listed user mean 1.42, std 0.85, median 1, max 5.
_DEGREE_P = (0.70, 0.20, 0.065, 0.025, 0.01)
_NEIGHBOURHOOD = 8
_MAX_FRIENDS = 5


def friend_lists(rng: np.random.Generator, taste: NDArray[np.float32], n_members: int) -> dict[int, list[int]]:
    """Friend lists of ``n_members`` users drawn from ``len(taste)`` users.

    Friends tend to share taste: members are ordered along a random direction of their hidden factors
    ``taste`` (shape (n_users, d)) and linked to near neighbours in that order, so a social model has
    something real to find. Every member has at least one friend, and every friend is a member.
    """
    members = rng.choice(len(taste), n_members, replace=False)
    order = members[np.argsort(taste[members] @ rng.normal(size=taste.shape[1]))]
    want = dict(zip(order.tolist(), (rng.choice(5, n_members, p=_DEGREE_P) + 1).tolist(), strict=True))
    friends: dict[int, set[int]] = {int(m): set() for m in order}
    pos = list(order.tolist())
    for i, user in enumerate(pos):
        for other in pos[i + 1 : i + 1 + _NEIGHBOURHOOD]:
            if len(friends[user]) >= want[user]:
                break
            if len(friends[other]) < want[other] and rng.random() < 0.7:
                friends[user].add(other)
                friends[other].add(user)
    for i, user in enumerate(pos):  # nobody is listed without a friend; nobody gets more than 5
        if not friends[user]:
            nearest = sorted((j for j in range(len(pos)) if j != i), key=lambda j: abs(j - i))
            other = next((pos[j] for j in nearest if len(friends[pos[j]]) < _MAX_FRIENDS), pos[nearest[0]])
            friends[user].add(other)
            friends[other].add(user)
    return {user: sorted(fr) for user, fr in sorted(friends.items())}


def social_frame(lists: dict[int, list[int]]) -> pl.DataFrame:
    """Rows by user_id; ``friend_list`` written as a Python-literal list, e.g. ``[4202, 7126]``."""
    return pl.DataFrame(
        {
            "user_id": pl.Series(list(lists), dtype=pl.Int64),
            "friend_list": pl.Series(["[" + ", ".join(map(str, fr)) + "]" for fr in lists.values()], dtype=pl.String),
        }
    )
