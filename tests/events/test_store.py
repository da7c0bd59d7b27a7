"""The event store (``reelrec/events/_store.py``): durable settings, ordering, all-or-none writes."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from reelrec.events import EventStore, StoreError


def test_store_is_wal_with_full_sync_and_a_user_index(tmp_path):
    store = EventStore(tmp_path / "feed.db")
    try:
        conn = sqlite3.connect(tmp_path / "feed.db")
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM events WHERE user_id = '1' ORDER BY id DESC LIMIT 5"
        ).fetchall()
        assert any("events_by_user" in str(row) for row in plan)  # the hot-path read uses the index
        conn.close()
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert store._read.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    finally:
        store.close()


def test_append_returns_growing_ids_and_recent_reads_newest_oldest_first(tmp_path):
    store = EventStore(tmp_path / "feed.db")
    n, last = store.append([("u1", "10", 1.0, False, 5.0), ("u2", "11", 0.0, True, None)])
    assert (n, last) == (2, 2)
    n, last = store.append([("u1", str(i), 0.5, False, None) for i in range(20, 25)])
    assert (n, last) == (5, 7)
    rows = store.recent("u1", 3)
    assert [r.item_id for r in rows] == ["22", "23", "24"]  # newest three, oldest first
    assert [r.id for r in rows] == [5, 6, 7]
    assert store.recent("u2", 10)[0].skipped and store.recent("u2", 10)[0].timestamp is None
    assert store.recent("nobody", 10) == []
    assert store.last_event_id() == 7 and store.count_events() == 7
    assert [r.id for b in store.events(after=5, batch=1) for r in b] == [6, 7]
    store.close()


def test_a_second_connection_sees_committed_events_at_once(tmp_path):
    writer, reader = EventStore(tmp_path / "feed.db"), EventStore(tmp_path / "feed.db")
    writer.append([("u", "1", 1.0, False, None)])
    assert [r.item_id for r in reader.recent("u", 5)] == ["1"]
    writer.close()
    reader.close()


def test_concurrent_writers_lose_no_event(tmp_path):
    stores = [EventStore(tmp_path / "feed.db") for _ in range(3)]

    def write(store: EventStore, tag: int) -> None:
        for b in range(20):
            store.append([(f"u{tag}", str(b * 10 + j), 1.0, False, None) for j in range(10)])

    threads = [threading.Thread(target=write, args=(s, t)) for t, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stores[0].count_events() == 600 and stores[0].last_event_id() == 600
    for s in stores:
        s.close()


def test_add_items_is_all_or_none(tmp_path):
    store = EventStore(tmp_path / "feed.db")
    assert store.add_items([("a", {"x": 1}), ("b", {"x": None})]) == []
    assert store.items_version() == 2
    assert store.add_items([("c", {}), ("a", {"x": 2})]) == ["a"]
    assert [r.item_id for r in store.items()] == ["a", "b"]  # "c" was not written either
    assert store.items()[0].features == {"x": 1}
    assert [r.item_id for r in store.items(after=1)] == ["b"]
    store.close()


def test_a_path_that_cannot_be_a_database_is_named(tmp_path):
    (tmp_path / "feed.db").write_text("not a database, just text " * 100)
    with pytest.raises(StoreError, match=r"feed\.db"):
        EventStore(tmp_path / "feed.db")
