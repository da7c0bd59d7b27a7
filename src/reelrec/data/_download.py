"""Resumable, verified downloads of the public data sets (KuaiRec 2.0, MovieLens-100K), then unpacking."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import cast

from reelrec.errors import ReelrecError

#: Called with (bytes on disk, expected total or None) while a transfer runs.
ByteProgress = Callable[[int, int | None], None]
_CHUNK = 1 << 20


class DownloadError(ReelrecError):
    """A download failed for good: retries exhausted, HTTP error, or a size / checksum mismatch."""


@dataclass(frozen=True)
class KnownDownload:
    """An official archive: where it lives and what it must look like when it arrives.

    ``size`` and ``md5`` are ``None`` where no trustworthy published value is known; the transfer
    is then checked against the server's announced length only.
    """

    name: str
    url: str
    filename: str
    size: int | None
    md5: str | None
    license: str


DATASETS: dict[str, KnownDownload] = {
    "kuairec": KnownDownload(
        name="kuairec",
        url="https://zenodo.org/records/18164998/files/KuaiRec.zip",
        filename="KuaiRec.zip",
        size=431_964_858,
        md5="261550d472c48eff4990fb13c0e5bcf7",
        license="CC BY-SA 4.0",
    ),
    "movielens-100k": KnownDownload(
        name="movielens-100k",
        url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        filename="ml-100k.zip",
        size=None,
        md5="0e33842e24a9c977be4e0107933c0723",
        license="GroupLens research licence: research use, no redistribution",
    ),
}

_UNSET = object()


def download_dataset(
    name: str,
    dest: str | Path = ".",
    *,
    url: str | None = None,
    md5: str | object | None = _UNSET,
    size: int | object | None = _UNSET,
    unpack: bool = True,
    retries: int = 5,
    timeout: float = 60.0,
    backoff: float = 1.0,
    progress: ByteProgress | None = None,
) -> Path:
    """Download a known data set into ``dest``, resuming and verifying, and unpack it.

    An interrupted transfer leaves ``<file>.part``; the next call (or the next retry) asks the
    server for the remaining bytes only (HTTP ``Range``). The finished file must match the expected
    size and MD5, otherwise it is deleted and :class:`DownloadError` says why. A finished, verified
    file is never downloaded again.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS`: ``kuairec`` or ``movielens-100k``.
    dest : str or Path
        Folder receiving the archive and its unpacked contents.
    url : str, optional
        A mirror of the same archive (the official size and checksum still apply unless overridden).
    md5, size : optional
        Expected checksum and length, overriding the known values (``None`` skips that check).
    unpack : bool
        Extract the archive next to it (KuaiRec can also be read straight from the zip).
    retries, timeout, backoff : int, float, float
        Attempts per transfer, seconds of network silence tolerated, base of the exponential wait.
    progress : callable, optional
        Called with (bytes so far, expected total) as data arrives.

    Returns
    -------
    Path
        The unpacked data folder, or the archive when ``unpack`` is false.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if retries < 1:
        raise ValueError(f"retries={retries}, must be >= 1")
    spec = DATASETS[name]
    want_md5 = cast("str | None", spec.md5 if md5 is _UNSET else md5)
    want_size = cast("int | None", spec.size if size is _UNSET else size)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / spec.filename
    part = dest / (spec.filename + ".part")

    if target.exists() and _problem(target, want_size, want_md5) is None:
        archive = target
    else:
        if target.exists():
            target.unlink()  # a finished file that fails verification cannot be resumed
        _fetch(url or spec.url, part, want_size, retries, timeout, backoff, progress)
        problem = _problem(part, want_size, want_md5)
        if problem:
            part.unlink()
            raise DownloadError(f"{url or spec.url}: {problem}; the download was deleted, run the command again")
        os.replace(part, target)
        archive = target
    if not unpack:
        return archive
    return unpack_archive(archive, dest)


def _fetch(
    url: str,
    part: Path,
    size: int | None,
    retries: int,
    timeout: float,
    backoff: float,
    progress: ByteProgress | None,
) -> None:
    """Fill ``part`` with the resource at ``url``, resuming from what is already there."""
    import httpx  # deferred: only downloads need an HTTP client

    last_error = "no attempt made"
    with httpx.Client(follow_redirects=True, timeout=timeout, headers={"User-Agent": "reelrec"}) as client:
        for attempt in range(retries):
            have = part.stat().st_size if part.exists() else 0
            if size is not None and have > size:
                part.unlink()
                have = 0
            if size is not None and have == size:
                return
            headers = {"Range": f"bytes={have}-"} if have else {}
            try:
                with client.stream("GET", url, headers=headers) as response:
                    total = _start(response, part, have, url)
                    if total is None:
                        return  # the part already holds the whole resource
                    if size is not None and total != size:
                        raise DownloadError(
                            f"{url}: the server announces {total} bytes, expected {size}; wrong file or URL"
                        )
                    mode = "ab" if response.status_code == 206 else "wb"
                    done = have if mode == "ab" else 0
                    with open(part, mode) as fh:
                        for chunk in response.iter_bytes():  # as received: a cut loses nothing
                            fh.write(chunk)
                            done += len(chunk)
                            if progress:
                                progress(done, total)
                    if total is not None and done < total:
                        raise httpx.RemoteProtocolError(f"connection closed after {done} of {total} bytes")
                    return
            except _Retry as exc:
                last_error = str(exc)
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            if attempt + 1 < retries:
                time.sleep(min(backoff * 2**attempt, 30.0))
    have = part.stat().st_size if part.exists() else 0
    raise DownloadError(
        f"{url}: download failed after {retries} attempts ({last_error}); {have} bytes kept in {part}, "
        "run the command again to resume"
    )


class _Retry(Exception):
    """A transient server answer (5xx, 408, 429, a resume the server could not honour)."""


def _start(response, part: Path, have: int, url: str) -> int | None:
    """Check the response status; returns the full resource length (None: already complete)."""
    code = response.status_code
    if code == 416 and have:
        # Nothing left to send: either the part is complete or it is longer than the resource.
        full = _content_range_total(response.headers.get("content-range", ""))
        if full is not None and full == have:
            return None
        part.unlink()
        raise _Retry(f"HTTP 416 for a resume at byte {have}; restarting from scratch")
    if code == 206:
        start, full = _content_range(response.headers.get("content-range", ""))
        if start != have:
            part.unlink(missing_ok=True)
            raise _Retry(f"the server resumed at byte {start}, not {have}; restarting from scratch")
        return full
    if code == 200:
        length = response.headers.get("content-length")
        return int(length) if length and length.isdigit() else None
    if code >= 500 or code in (408, 429):
        raise _Retry(f"HTTP {code}")
    raise DownloadError(f"{url}: HTTP {code} {response.reason_phrase}")


def _content_range(header: str) -> tuple[int, int | None]:
    """``bytes 100-199/1000`` -> (100, 1000); an unknown total (``*``) gives None."""
    try:
        unit, _, rest = header.partition(" ")
        span, _, total = rest.partition("/")
        start = int(span.split("-")[0])
    except ValueError:
        return -1, None
    return start, int(total) if total.isdigit() else None


def _content_range_total(header: str) -> int | None:
    total = header.rpartition("/")[2]
    return int(total) if total.isdigit() else None


def _problem(path: Path, size: int | None, md5: str | None) -> str | None:
    """Why ``path`` is not the expected file, or None when size and checksum match."""
    actual = path.stat().st_size
    if size is not None and actual != size:
        return f"size {actual} bytes, expected {size}"
    if md5:
        digest = hashlib.md5(usedforsecurity=False)
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != md5.lower():
            return f"md5 {digest.hexdigest()}, expected {md5.lower()}"
    return None


def unpack_archive(archive: Path, dest: Path) -> Path:
    """Extract ``archive`` into ``dest`` (refusing paths that would land outside it); returns the data folder."""
    if not zipfile.is_zipfile(archive):
        raise DownloadError(f"{archive}: not a zip archive")
    root = dest.resolve()
    with zipfile.ZipFile(archive) as zf:
        members = [m for m in zf.infolist() if "__MACOSX" not in PurePosixPath(m.filename).parts]
        for member in members:
            target = (root / member.filename).resolve()
            if root != target and root not in target.parents:
                raise DownloadError(f"{archive}: member {member.filename!r} would be written outside {dest}")
        for member in members:
            target = root / member.filename
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if target.exists() and target.stat().st_size == member.file_size:
                continue  # unpacked by an earlier run
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".unpacking")
            with zf.open(member) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, _CHUNK)
            os.replace(tmp, target)
        tops = {PurePosixPath(m.filename).parts[0] for m in members if PurePosixPath(m.filename).parts}
    return dest / next(iter(tops)) if len(tops) == 1 else dest
