"""Where a data set's files live: a folder or a zip archive, behind one small interface."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from reelrec.errors import DataError

# Archive members at least this large are inflated to a temporary file rather than into memory.
_INFLATE_TO_DISK = 64 << 20


class DataSource:
    """Named files of one data set, read from a folder or straight from a zip archive.

    Files are looked up by base name (``big_matrix.csv``), in the folder itself or, for an
    archive, anywhere inside it (``KuaiRec 2.0/data/big_matrix.csv``).

    Parameters
    ----------
    root : Path
        A folder holding the files, or a ``.zip`` file.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.is_zip = self.root.is_file() and zipfile.is_zipfile(self.root)
        self._members: dict[str, str] = {}
        if self.is_zip:
            with zipfile.ZipFile(self.root) as zf:
                infos = zf.infolist()
            for info in infos:
                path = PurePosixPath(info.filename)
                if info.is_dir() or "__MACOSX" in path.parts or path.name.startswith("._"):
                    continue
                # Shallowest match wins, so a stray copy deeper down never shadows the real file.
                known = self._members.get(path.name)
                if known is None or len(PurePosixPath(known).parts) > len(path.parts):
                    self._members[path.name] = info.filename
            self._central_directory = _zip_digest(self.root, infos)
        elif not self.root.is_dir():
            raise DataError(f"{self.root}: not a folder or a zip archive")

    def __repr__(self) -> str:
        return f"DataSource({str(self.root)!r})"

    def exists(self, name: str) -> bool:
        if self.is_zip:
            return name in self._members
        return (self.root / name).is_file()

    def display(self, name: str) -> str:
        """How error messages name a file: ``folder/name`` or ``archive.zip:inner/path``."""
        if self.is_zip:
            return f"{self.root}:{self._members.get(name, name)}"
        return str(self.root / name)

    def size(self, name: str) -> int:
        if self.is_zip:
            with zipfile.ZipFile(self.root) as zf:
                return zf.getinfo(self._members[name]).file_size
        return (self.root / name).stat().st_size

    def first_line(self, name: str, limit: int = 65536) -> bytes:
        """The first line of a file (without the line break), at most ``limit`` bytes."""
        if self.is_zip:
            with zipfile.ZipFile(self.root) as zf, zf.open(self._members[name]) as fh:
                line = fh.readline(limit)
        else:
            with open(self.root / name, "rb") as fh:
                line = fh.readline(limit)
        return line.rstrip(b"\r\n")

    @contextmanager
    def readable(self, name: str) -> Iterator[str | bytes]:
        """Something ``polars.read_csv`` accepts, valid inside the ``with`` block.

        A path for folder files. Small archive members come as bytes; large ones are inflated into
        a temporary file beside the archive and handed over as a path: ``ZipFile.read`` would hold
        the compressed and inflated copies at once, doubling peak memory on KuaiRec's 1.1 GB matrix.
        """
        if not self.is_zip:
            yield str(self.root / name)
            return
        with zipfile.ZipFile(self.root) as zf:
            member = self._members[name]
            if zf.getinfo(member).file_size < _INFLATE_TO_DISK:
                yield zf.read(member)
                return
            fd, tmp = _scratch_file(self.root.parent, name)
            try:
                with zf.open(member) as src, os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                yield tmp
            finally:
                os.unlink(tmp)

    def read_bytes(self, name: str) -> bytes:
        if self.is_zip:
            with zipfile.ZipFile(self.root) as zf:
                return zf.read(self._members[name])
        return (self.root / name).read_bytes()

    def fingerprint(self, names: list[str]) -> str:
        """A digest that changes whenever one of the named files may have changed.

        Folders use each file's resolved path, size and modification time (no reading, so it is
        instant on gigabyte files); archives use a digest of their central directory (names, sizes,
        CRCs), which changes with any member's content.
        """
        h = hashlib.sha256()
        if self.is_zip:
            h.update(str(self.root.resolve()).encode())
            h.update(self._central_directory.encode())
        for name in sorted(names):
            h.update(name.encode())
            if not self.is_zip and self.exists(name):
                path = (self.root / name).resolve()
                st = path.stat()
                h.update(f"{path}|{st.st_size}|{st.st_mtime_ns}".encode())
            elif not self.exists(name):
                h.update(b"<absent>")
        return h.hexdigest()

    def cache_home(self) -> Path:
        """Default cache folder: ``.reelrec-cache`` beside the data (inside the folder, next to an archive)."""
        base = self.root.parent if self.is_zip else self.root
        return base / ".reelrec-cache"


def _scratch_file(folder: Path, name: str) -> tuple[int, str]:
    """A temporary file beside the archive (same disk), or in the system temp folder if that is read-only."""
    try:
        return tempfile.mkstemp(prefix=f".{name}.", suffix=".unzipped", dir=folder)
    except OSError:
        return tempfile.mkstemp(prefix=f"{name}.", suffix=".unzipped")


def _zip_digest(path: Path, infos: list[zipfile.ZipInfo]) -> str:
    h = hashlib.sha256()
    for info in infos:
        h.update(f"{info.filename}|{info.CRC}|{info.file_size}|{info.compress_size}|{info.date_time}".encode())
    h.update(str(path.stat().st_size).encode())
    return h.hexdigest()


def find_kuairec_root(path: Path) -> Path | None:
    """The folder or archive holding KuaiRec's CSV files, or ``None`` when ``path`` is not KuaiRec.

    Accepts the CSV folder itself, a folder with ``data/`` or ``KuaiRec 2.0/data/`` below it,
    ``KuaiRec.zip``, or a folder containing ``KuaiRec.zip``.
    """
    path = Path(path)
    if path.is_file():
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                names = {PurePosixPath(n).name for n in zf.namelist()}
            return path if "big_matrix.csv" in names else None
        return path.parent if path.name == "big_matrix.csv" else None
    for candidate in (path, path / "data", path / "KuaiRec 2.0" / "data", path / "KuaiRec" / "data"):
        if (candidate / "big_matrix.csv").is_file():
            return candidate
    archive = path / "KuaiRec.zip"
    if archive.is_file():
        return find_kuairec_root(archive)
    return None
