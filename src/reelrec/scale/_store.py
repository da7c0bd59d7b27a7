"""The out-of-core interaction store: distinct (user, video) pairs on disk, memory-mapped, in user-aligned shards.

Layout of a store directory (format version 1)::

    STORE/
      manifest.json   format, version, sizes, shard table, source description
      indptr.npy      int64 (n_users + 1): rows of user u are indptr[u]:indptr[u + 1]
      item.bin        int32 (n_pairs): video index of each pair, rows grouped by user
      label.bin       float32 (n_pairs): mean label of the pair's views
      views.bin       int32 (n_pairs): how many views were merged into the pair
      time.bin        float64 (n_pairs): Unix time of the pair's last view (NaN when unknown)
      users.npy, items.npy (integer raw ids) or ids.json (string raw ids)

Every user's pairs sit in exactly one shard, so a shard alone gives exact per-user histories and
validation splits; training holds one or two shards in memory at a time.

Stability: provisional (the layout is versioned; a store is a cache and can always be rebuilt).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from reelrec.data._vocab import IdMap
from reelrec.errors import DataError
from reelrec.scale._pairs import PairBlock

STORE_FORMAT = "reelrec-shard-store"
STORE_VERSION = 1
#: Column files: name -> dtype.
COLUMNS: dict[str, np.dtype] = {
    "item": np.dtype("<i4"),
    "label": np.dtype("<f4"),
    "views": np.dtype("<i4"),
    "time": np.dtype("<f8"),
}


@dataclass(frozen=True)
class ShardInfo:
    """One shard: pairs ``row_lo:row_hi``, which are exactly the pairs of users ``user_lo:user_hi``."""

    index: int
    row_lo: int
    row_hi: int
    user_lo: int
    user_hi: int

    @property
    def n_pairs(self) -> int:
        return self.row_hi - self.row_lo


def is_store(path: str | Path) -> bool:
    """Whether ``path`` is a store directory (has a store manifest)."""
    manifest = Path(path) / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        return json.loads(manifest.read_text()).get("format") == STORE_FORMAT
    except (OSError, json.JSONDecodeError, AttributeError):
        return False


class ShardStore:
    """Read access to a store directory written by :func:`reelrec.scale.write_store`.

    The per-user offsets and the id maps live in memory (O(users + items)); pair columns are
    memory-mapped and read one shard at a time.

    Parameters
    ----------
    path : str or Path
        The store directory.

    Raises
    ------
    DataError
        When the directory is not a store, or a file is missing, truncated or inconsistent.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        mpath = self.path / "manifest.json"
        if not mpath.is_file():
            raise DataError(f"{self.path}: not a shard store (manifest.json is missing)")
        try:
            manifest = json.loads(mpath.read_text())
        except json.JSONDecodeError as exc:
            raise DataError(f"{mpath}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != STORE_FORMAT:
            raise DataError(f"{mpath}: not a shard-store manifest (format {manifest.get('format')!r})")
        if manifest.get("version") != STORE_VERSION:
            raise DataError(
                f"{mpath}: store version {manifest.get('version')!r} is not supported (this reelrec reads "
                f"{STORE_VERSION}); delete the store to rebuild it"
            )
        self.manifest: dict[str, Any] = manifest
        self.n_users = int(manifest["n_users"])
        self.n_items = int(manifest["n_items"])
        self.n_pairs = int(manifest["n_pairs"])
        self.n_views = int(manifest["n_views"])
        self.users, self.items = _read_ids(self.path)
        if len(self.users) != self.n_users or len(self.items) != self.n_items:
            raise DataError(
                f"{self.path}: id files hold {len(self.users)} users and {len(self.items)} items, manifest says "
                f"{self.n_users} and {self.n_items}"
            )
        self.indptr: NDArray[np.int64] = _load_npy(self.path / "indptr.npy", np.int64, (self.n_users + 1,))
        if self.indptr[0] != 0 or self.indptr[-1] != self.n_pairs or (np.diff(self.indptr) < 0).any():
            raise DataError(f"{self.path / 'indptr.npy'}: offsets must rise from 0 to n_pairs={self.n_pairs}")
        self._columns = {name: _open_column(self.path, name, dtype, self.n_pairs) for name, dtype in COLUMNS.items()}
        self.shards = [ShardInfo(i, *map(int, row)) for i, row in enumerate(manifest["shards"])]
        _check_shards(self.shards, self.indptr, mpath)

    def __repr__(self) -> str:
        return (
            f"ShardStore({str(self.path)!r}, users={self.n_users}, items={self.n_items}, pairs={self.n_pairs}, "
            f"shards={len(self.shards)})"
        )

    @property
    def meta(self) -> dict[str, Any]:
        """What the store was built from (source path, fingerprint, options)."""
        return dict(self.manifest.get("meta", {}))

    @property
    def label_name(self) -> str:
        return str(self.manifest.get("label_name", "label"))

    # --------------------------------------------------------------- reading
    def column(self, name: str) -> np.memmap:
        """The memory-mapped column ``name`` (``item``, ``label``, ``views``, ``time``); do not modify."""
        return self._columns[name]

    def read(self, shard: ShardInfo | int) -> PairBlock:
        """The pairs of one shard, copied into memory."""
        info = self.shards[shard] if isinstance(shard, int) else shard
        lo, hi = info.row_lo, info.row_hi
        users = np.arange(info.user_lo, info.user_hi, dtype=np.int32)
        indptr = (self.indptr[info.user_lo : info.user_hi + 1] - lo).astype(np.int64)
        return PairBlock(
            users,
            indptr,
            self._read_range("item", lo, hi),
            self._read_range("label", lo, hi),
            self._read_range("views", lo, hi),
        )

    def _read_range(self, name: str, lo: int, hi: int) -> NDArray:
        """Values ``lo:hi`` of a column, read from the file (not through the mapping).

        Plain reads leave no mapped pages behind, so a process's resident memory shows what it holds,
        not every page of the store it has ever read (the kernel's page cache still serves rereads).
        """
        dtype = COLUMNS[name]
        if hi <= lo:
            return np.zeros(0, dtype)
        return np.fromfile(self.path / f"{name}.bin", dtype=dtype, count=hi - lo, offset=lo * dtype.itemsize)

    def read_times(self, shard: ShardInfo | int) -> NDArray[np.float64]:
        """Last-view times of one shard's pairs, aligned with :meth:`read`'s rows."""
        info = self.shards[shard] if isinstance(shard, int) else shard
        return self._read_range("time", info.row_lo, info.row_hi)

    def iter_column(self, name: str, chunk: int = 1 << 22):
        """``(row_lo, values)`` chunks of a column, for streaming passes that need no shard boundaries."""
        for lo in range(0, self.n_pairs, chunk):
            yield lo, self._read_range(name, lo, min(lo + chunk, self.n_pairs))

    # ------------------------------------------------------------ summaries
    def item_counts(self) -> NDArray[np.int64]:
        """Distinct users per video (pairs per item), shape (n_items,)."""
        out = np.zeros(self.n_items, np.int64)
        for _, items in self.iter_column("item"):
            out += np.bincount(items, minlength=self.n_items)
        return out

    def seen_csr(self) -> sp.csr_matrix:
        """User x video matrix of the stored pairs (ones, float32 data, int32 sorted indices)."""
        indptr = self.indptr.astype(np.int32) if self.n_pairs < 2**31 else self.indptr
        indices = self._read_range("item", 0, self.n_pairs).astype(np.int32, copy=False)
        data = np.ones(self.n_pairs, np.float32)
        mat = sp.csr_matrix((data, indices, indptr), shape=(self.n_users, self.n_items), copy=False)
        mat.has_sorted_indices = True
        return mat

    def shard_users(self, shard: ShardInfo | int) -> NDArray[np.int32]:
        info = self.shards[shard] if isinstance(shard, int) else shard
        return np.arange(info.user_lo, info.user_hi, dtype=np.int32)


# ------------------------------------------------------------------------------------------- helpers
def _read_ids(path: Path) -> tuple[IdMap, IdMap]:
    if (path / "users.npy").is_file() and (path / "items.npy").is_file():
        return IdMap(np.load(path / "users.npy")), IdMap(np.load(path / "items.npy"))
    jpath = path / "ids.json"
    if not jpath.is_file():
        raise DataError(f"{path}: id files are missing (users.npy and items.npy, or ids.json)")
    data = json.loads(jpath.read_text())
    return IdMap(np.asarray(data["users"])), IdMap(np.asarray(data["items"]))


def _load_npy(path: Path, dtype: type, shape: tuple[int, ...]) -> NDArray:
    if not path.is_file():
        raise DataError(f"{path}: file is missing")
    try:
        arr = np.load(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable ({exc})") from None
    if arr.shape != shape or arr.dtype != np.dtype(dtype):
        raise DataError(f"{path}: holds {arr.dtype}{list(arr.shape)}, expected {np.dtype(dtype)}{list(shape)}")
    return arr


def _open_column(path: Path, name: str, dtype: np.dtype, n: int) -> np.memmap:
    fpath = path / f"{name}.bin"
    if not fpath.is_file():
        raise DataError(f"{fpath}: file is missing")
    size = fpath.stat().st_size
    if size != n * dtype.itemsize:
        raise DataError(f"{fpath}: {size} bytes, expected {n * dtype.itemsize} ({n} values of {dtype})")
    if n == 0:
        return np.zeros(0, dtype)  # type: ignore[return-value]
    return np.memmap(fpath, dtype=dtype, mode="r", shape=(n,))


def _check_shards(shards: list[ShardInfo], indptr: NDArray[np.int64], where: Path) -> None:
    n_users = len(indptr) - 1
    expected_user = 0
    for s in shards:
        if s.user_lo != expected_user or s.user_hi < s.user_lo or s.user_hi > n_users:
            raise DataError(f"{where}: shard {s.index} covers users {s.user_lo}:{s.user_hi}; shards must tile users")
        if s.row_lo != indptr[s.user_lo] or s.row_hi != indptr[s.user_hi]:
            raise DataError(f"{where}: shard {s.index} rows {s.row_lo}:{s.row_hi} do not match its users' offsets")
        expected_user = s.user_hi
    if expected_user != n_users:
        raise DataError(f"{where}: shards cover users 0:{expected_user}, expected 0:{n_users}")


def plan_shards(indptr: NDArray[np.int64], shard_pairs: int) -> list[tuple[int, int, int, int]]:
    """Cut users into consecutive ranges of about ``shard_pairs`` pairs (never splitting a user).

    Returns ``(row_lo, row_hi, user_lo, user_hi)`` per shard; they tile all users.
    """
    if shard_pairs < 1:
        raise ValueError(f"shard_pairs={shard_pairs}, must be >= 1")
    n_users = len(indptr) - 1
    n_pairs = int(indptr[-1])
    cuts = [0]
    target = shard_pairs
    while target < n_pairs:
        # The first user boundary at or after the target row (a user is never split).
        u = int(np.searchsorted(indptr, target, side="left"))
        u = max(u, cuts[-1] + 1)
        if u >= n_users:
            break
        cuts.append(u)
        target = int(indptr[u]) + shard_pairs
    cuts.append(n_users)
    return [(int(indptr[a]), int(indptr[b]), a, b) for a, b in itertools.pairwise(cuts) if b > a or n_users == 0]
