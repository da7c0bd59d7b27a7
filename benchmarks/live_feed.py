"""CPU cost per request of the live feed's steps (``reelrec serve --events``), in process, no HTTP.

Usage::

    python benchmarks/live_feed.py [--users 2000] [--items 90] [--events-per-user 100] [--calls 3000]

Builds a popularity artifact over a random log of ``--users`` x ``--items``, fills an event store with
``--events-per-user`` events for every user, and times (``time.thread_time``, median over ``--calls``)
the plain ranking, the per-request catalogue check, reading a user's events and building the session,
and ranking with the session. Prints one JSON object. The store and artifact live in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from reelrec.artifacts import load_artifact, save_artifact
from reelrec.data import Dataset, IdMap, Interactions
from reelrec.events import EventStore
from reelrec.models import create_model, model_class
from reelrec.serve import ModelHolder, ServeSettings, build_state
from reelrec.serve.live import LiveFeed, recommend_with_session
from reelrec.serve.ranking import recommend_user


def median_us(fn: Callable[[int], object], calls: int) -> float:
    times = []
    for j in range(calls):
        start = time.thread_time()
        fn(j)
        times.append(time.thread_time() - start)
    return round(statistics.median(times) * 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--items", type=int, default=90)
    parser.add_argument("--events-per-user", type=int, default=100)
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    root = Path(tempfile.mkdtemp(prefix="reelrec-live-"))
    user = np.repeat(np.arange(args.users), 5)
    item = rng.integers(0, args.items, len(user))
    inter = Interactions.from_arrays(user, item, rng.uniform(0, 2, len(user)))
    data = Dataset(IdMap(np.arange(args.users)), IdMap(np.arange(5000, 5000 + args.items)), inter)
    save_artifact(create_model("popularity").fit(data), root / "a", dataset=data)
    settings = ServeSettings(artifact=root / "a", events=root / "feed.db")
    state = build_state(load_artifact(root / "a", model_class), settings)
    store = EventStore(root / "feed.db")
    for lo in range(0, args.users, 100):
        store.append([
            (str(u), str(5000 + int(i)), 0.5, False, None)
            for u in range(lo, min(lo + 100, args.users))
            for i in rng.integers(0, args.items, args.events_per_user)
        ])
    live, holder = LiveFeed(store, settings), ModelHolder(state)
    session = live.session(state, 0, False)
    assert session is not None
    n = args.calls
    result = {
        "events_in_store": store.count_events(),
        "events_per_user": args.events_per_user,
        "plain_ranking_us": median_us(lambda j: recommend_user(state, j % args.users, 10), n),
        "catalogue_check_us": median_us(lambda j: live.current(holder), n),
        "read_events_us": median_us(lambda j: store.recent_columns(str(j % args.users), 1000), n),
        "read_and_build_session_us": median_us(lambda j: live.session(state, j % args.users, False), n),
        "rank_with_session_us": median_us(
            lambda j: recommend_with_session(state, j % args.users, session, 10, True), n
        ),
        "user_without_events_us": median_us(lambda j: live.session(state, 10**9 + j, False), n),
    }
    store.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
