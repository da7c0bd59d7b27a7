"""``reelrec train --events`` data merge (``events/_dataset.py``) and ``reelrec events export``."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from reelrec.events import EventStore
from reelrec.events._dataset import append_events
from tests.cli.helpers import run_in_process as run
from tests.conftest import make_toy_dataset


def test_events_are_appended_with_new_users_and_registered_videos(tmp_path):
    data = make_toy_dataset()
    store = EventStore(tmp_path / "feed.db")
    old_user, old_item = int(data.users.raw_ids[0]), int(data.items.raw_ids[0])
    feats = {"tags": [2, 3], "category": "b", "duration": 1000.0}
    assert store.add_items([("424242", feats)]) == []
    store.append([
        (str(old_user), str(old_item), 2.0, False, 1.7e9),
        ("999001", "424242", 0.7, False, None),
        ("999001", str(old_item), 0.9, True, None),  # shown, swiped away: label 0
    ])
    store.close()
    merged = append_events(data, tmp_path / "feed.db")
    n = len(data.interactions)
    assert len(merged.interactions) == n + 3
    assert merged.users.raw_ids[: data.n_users].tolist() == data.users.raw_ids.tolist()  # indices never move
    assert merged.users.raw_ids[-1] == 999001 and merged.items.raw_ids[-1] == 424242
    tail = merged.interactions.take(np.arange(n, n + 3))
    assert tail.user.tolist() == [0, data.n_users, data.n_users]
    assert tail.item.tolist() == [0, data.n_items, 0]
    assert tail.label.tolist() == pytest.approx([2.0, 0.7, 0.0])
    assert tail.timestamp[0] == 1.7e9 and tail.timestamp[1] > 1.7e9  # received_at stands in
    assert merged.item_features is not None and merged.user_features is not None
    new_row = merged.item_features.frame.row(data.n_items, named=True)
    assert new_row["category"] == "b" and new_row["tags"] == [2, 3] and new_row["mean_play_progress"] is None
    assert len(merged.user_features) == merged.n_users
    assert merged.meta["events"] == {"last_event_id": 3, "rows": 3, "new_users": 1, "new_items": 1}
    assert merged.summary()["events"]["last_event_id"] == 3  # what dataset.json records


def test_events_on_unregistered_videos_or_missing_stores_are_refused(tmp_path):
    data = make_toy_dataset()
    store = EventStore(tmp_path / "feed.db")
    store.append([("1", "31337", 1.0, False, None)])
    store.close()
    with pytest.raises(ValueError, match="31337"):
        append_events(data, tmp_path / "feed.db")
    with pytest.raises(FileNotFoundError, match=r"nope\.db"):
        append_events(data, tmp_path / "nope.db")


def test_export_writes_every_event_as_parquet(capsys, tmp_path):
    store = EventStore(tmp_path / "feed.db")
    store.append([("u1", "10", 1.5, False, 3.0), ("u2", "11", 0.0, True, None)])
    store.close()
    code, out, err = run(capsys, "events", "export", tmp_path / "feed.db", tmp_path / "out" / "ev.parquet")
    assert code == 0, err
    frame = pl.read_parquet(tmp_path / "out" / "ev.parquet")
    assert frame["id"].to_list() == [1, 2] and frame["user_id"].to_list() == ["u1", "u2"]
    assert frame["skipped"].to_list() == [False, True] and frame["timestamp"].to_list() == [3.0, None]
    code, out, err = run(capsys, "events", "export", tmp_path / "feed.db", tmp_path / "after.parquet", "--after", "1")
    assert code == 0 and pl.read_parquet(tmp_path / "after.parquet")["id"].to_list() == [2]
    code, out, err = run(capsys, "events", "export", tmp_path / "missing.db", tmp_path / "x.parquet")
    assert code != 0 and "missing.db" in err and "Traceback" not in err
