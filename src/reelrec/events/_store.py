"""Events and new videos in one SQLite file: WAL journal, ``synchronous=FULL``, one connection per process.

Why SQLite: it is in the standard library, several worker processes can share one file (readers never
block the writer in WAL mode), and with ``synchronous=FULL`` a committed transaction survives a crash of
the process or the machine. A request's batch is one transaction; the service acknowledges it only after
``COMMIT`` returns, so every acknowledged event is on disk.

Ids are stored as text in their canonical form (``"42"`` for integer vocabularies), so a lookup by the
id a URL carries is one indexed query.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

#: How long a writer waits for another process's write lock before failing (milliseconds).
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    watch_ratio REAL NOT NULL,
    skipped INTEGER NOT NULL DEFAULT 0,
    timestamp REAL,
    received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_user ON events (user_id, id);
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL UNIQUE,
    features TEXT NOT NULL,
    added_at REAL NOT NULL
);
"""


class StoreError(Exception):
    """The store file cannot be opened or used (names the file)."""


class EventRow(NamedTuple):
    """One stored event, as SQLite returns it (a tuple: built at C speed on the hot path).

    ``skipped`` is 1 for an impression the user swiped away, else 0; ``timestamp`` is ``None`` when the
    client gave none (SQLite stores NaN as NULL too).
    """

    id: int
    user_id: str
    item_id: str
    watch_ratio: float
    skipped: int
    timestamp: float | None
    received_at: float


class RecentColumns(NamedTuple):
    """A user's newest events as parallel tuples, oldest first (see :meth:`EventStore.recent_columns`)."""

    id: tuple[int, ...]
    item_id: tuple[str, ...]
    watch_ratio: tuple[float, ...]
    skipped: tuple[int, ...]
    timestamp: tuple[float | None, ...]


@dataclass(frozen=True)
class ItemRow:
    """One registered video and its side features (column -> JSON value)."""

    seq: int
    item_id: str
    features: dict[str, Any]


class EventStore:
    """A connection to the store file; safe to share between the threads of one process.

    Parameters
    ----------
    path : Path
        The database file (created with its tables when missing).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Two connections: in WAL mode a reader never waits for a writer's fsync, so the hot path
            # (reads) is not held up by a batch being committed in another thread.
            self._conn = _connect(self.path)
            self._read = _connect(self.path)
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"event store {self.path}: cannot be opened ({exc})") from None
        if str(mode).lower() != "wal":
            raise StoreError(f"event store {self.path}: the file system does not support WAL mode (got {mode})")
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._conn.close()
            self._read.close()

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._read_lock:
            return self._read.execute(sql, args).fetchall()

    # ------------------------------------------------------------------ writes
    def append(self, events: Sequence[tuple[str, str, float, bool, float | None]]) -> tuple[int, int]:
        """Store ``(user_id, item_id, watch_ratio, skipped, timestamp)`` rows in one transaction.

        Returns ``(count, last_event_id)`` only once the transaction is committed (durable).
        """
        now = time.time()
        rows = [(u, i, w, int(s), t, now) for u, i, w, s, t in events]
        with self._lock:
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                cur.executemany(
                    "INSERT INTO events (user_id, item_id, watch_ratio, skipped, timestamp, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                last = int(cur.execute("SELECT last_insert_rowid()").fetchone()[0])
                cur.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    cur.execute("ROLLBACK")
                raise
        return len(rows), last

    def add_items(self, items: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
        """Store new videos in one transaction, all or none: when some ids are already stored, nothing is
        written and those ids are returned (an empty list means every video was stored)."""
        now = time.time()
        with self._lock:
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                marks = ",".join("?" * len(items))
                ids = [i for i, _ in items]
                known = {r[0] for r in cur.execute(f"SELECT item_id FROM items WHERE item_id IN ({marks})", ids)}
                if not known:
                    cur.executemany(
                        "INSERT INTO items (item_id, features, added_at) VALUES (?, ?, ?)",
                        [(i, json.dumps(f, allow_nan=False), now) for i, f in items],
                    )
                cur.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    cur.execute("ROLLBACK")
                raise
        return [i for i in ids if i in known]

    # ------------------------------------------------------------------- reads
    def recent(self, user_id: str, limit: int) -> list[EventRow]:
        """The user's newest ``limit`` events, oldest first (one indexed query: the hot path)."""
        rows = self._query(
            "SELECT id, user_id, item_id, watch_ratio, skipped, timestamp, received_at FROM events "
            "WHERE user_id = ? ORDER BY id DESC LIMIT ?",
            (user_id, limit),
        )
        rows.reverse()
        return [EventRow._make(r) for r in rows]

    def recent_columns(self, user_id: str, limit: int) -> RecentColumns:
        """:meth:`recent` as columns (no per-row objects): what a recommendation needs, at C speed."""
        rows = self._query(
            "SELECT id, item_id, watch_ratio, skipped, timestamp FROM events "
            "WHERE user_id = ? ORDER BY id DESC LIMIT ?",
            (user_id, limit),
        )
        rows.reverse()
        return RecentColumns(*zip(*rows, strict=True)) if rows else RecentColumns((), (), (), (), ())

    def has_user(self, user_id: str) -> bool:
        return bool(self._query("SELECT 1 FROM events WHERE user_id = ? LIMIT 1", (user_id,)))

    def last_event_id(self) -> int:
        return int(self._query("SELECT COALESCE(MAX(id), 0) FROM events")[0][0])

    def count_events(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM events")[0][0])

    def events(self, after: int = 0, batch: int = 50_000) -> Iterator[list[EventRow]]:
        """Every event with ``id > after`` in id order, in batches (for training and export)."""
        last = after
        while True:
            rows = self._query(
                "SELECT id, user_id, item_id, watch_ratio, skipped, timestamp, received_at FROM events "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (last, batch),
            )
            if not rows:
                return
            out = [EventRow._make(r) for r in rows]
            last = out[-1].id
            yield out

    def items_version(self) -> int:
        """The newest registered video's sequence number (0: none); cheap, checked per request."""
        return int(self._query("SELECT COALESCE(MAX(seq), 0) FROM items")[0][0])

    def items(self, after: int = 0) -> list[ItemRow]:
        """Registered videos with ``seq > after``, in registration order."""
        rows = self._query("SELECT seq, item_id, features FROM items WHERE seq > ? ORDER BY seq", (after,))
        return [ItemRow(int(s), str(i), json.loads(f)) for s, i, f in rows]


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT), never implicit.
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous = FULL")
    return conn
