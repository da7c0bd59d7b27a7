"""Hot reload: confine requested paths to the artifact root, load off the event loop, swap atomically.

With ``--workers N`` a reload reaches one worker; that worker writes the new artifact's relative path to
a small signal file, and every worker polls it and loads the same artifact (within
``reload_poll_seconds``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path, PurePosixPath
from typing import Any

import anyio

from reelrec.errors import ArtifactError
from reelrec.serve.metrics import Metrics
from reelrec.serve.settings import ServeSettings
from reelrec.serve.state import ModelHolder, ServingState, load_state

log = logging.getLogger("reelrec.serve")


class ReloadError(Exception):
    """A reload request that cannot be honoured; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def resolve_under_root(root: Path, requested: str) -> Path:
    """The artifact directory ``requested`` names under ``root``; ``ReloadError`` for any escape.

    Absolute paths, ``..`` components and symbolic links that lead outside ``root`` are refused.
    """
    if "\x00" in requested or "\\" in requested:
        raise ReloadError(422, "path must be a plain relative path (no NUL bytes or backslashes)")
    rel = PurePosixPath(requested)
    if rel.is_absolute() or ".." in rel.parts or requested.startswith("~"):
        raise ReloadError(422, f"path {requested!r} must be relative to the artifact root and must not use '..'")
    full = (root / rel).resolve()
    if full != root and root not in full.parents:
        raise ReloadError(403, f"path {requested!r} leads outside the artifact root")
    return full


def relative_name(root: Path, path: Path) -> str | None:
    """``path`` relative to ``root`` as text, or ``None`` when it is not under it."""
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def _scrub(message: str, root: Path) -> str:
    """Error text without the server's absolute directory names."""
    return message.replace(str(root) + os.sep, "").replace(str(root), ".")


class ReloadSignal:
    """A file holding the last reload (relative path + artifact id), replaced atomically on each write."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def publish(self, rel: str, artifact_id: str) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"path": rel, "artifact_id": artifact_id}))
        os.replace(tmp, self.path)

    def token(self) -> tuple[int, int] | None:
        """Changes whenever a new signal is published (a fresh inode each time)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns

    def read(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        ok = isinstance(data, dict) and isinstance(data.get("path"), str) and isinstance(data.get("artifact_id"), str)
        return data if ok else None


class Reloader:
    """Serialises reloads, keeps the old model serving on any failure, and counts outcomes."""

    def __init__(self, holder: ModelHolder, settings: ServeSettings, metrics: Metrics) -> None:
        self.holder = holder
        self.settings = settings
        self.metrics = metrics
        self.root = settings.root
        self.signal = ReloadSignal(settings.reload_signal) if settings.reload_signal else None
        self._lock = asyncio.Lock()

    async def reload(self, requested: str | None) -> tuple[ServingState, ServingState, str]:
        """Load ``requested`` (default: the current artifact's path again) and swap it in.

        Returns
        -------
        old, new : ServingState
        rel : str
            The artifact's path relative to the root.
        """
        try:
            if requested is None:
                rel = relative_name(self.root, self.holder.current.artifact.path)
                if rel is None:
                    raise ReloadError(422, "the current artifact is outside the artifact root; name a path to reload")
            else:
                rel = requested
            path = resolve_under_root(self.root, rel)
            rel = relative_name(self.root, path) or rel
            if not path.is_dir():
                raise ReloadError(404, f"no artifact directory {rel!r} under the artifact root")
            async with self._lock:
                new = await self._load(path, rel)
                old = self.holder.swap(new)
                if self.signal is not None:
                    self.signal.publish(rel, new.artifact_id)
        except ReloadError:
            self.metrics.reload("failed")
            raise
        self.metrics.reload("ok")
        log.info("reloaded %s: artifact %s -> %s", rel, old.artifact_id, new.artifact_id)
        return old, new, rel

    async def _load(self, path: Path, rel: str) -> ServingState:
        try:
            return await anyio.to_thread.run_sync(load_state, path, self.settings)
        except (ArtifactError, ValueError, KeyError, TypeError, OSError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            raise ReloadError(422, f"artifact {rel!r} cannot be loaded: {_scrub(str(message), self.root)}") from None
        except Exception as exc:  # a broken artifact must never take the service down
            log.exception("loading %s failed", rel)
            raise ReloadError(422, f"artifact {rel!r} cannot be loaded ({type(exc).__name__})") from None

    async def follow(self) -> None:
        """Poll the signal file forever, loading what other workers reloaded (run as a task)."""
        if self.signal is None:
            return
        seen = self.signal.token()
        while True:
            await asyncio.sleep(self.settings.reload_poll_seconds)
            token = self.signal.token()
            if token == seen:
                continue
            seen = token
            await self.catch_up()

    async def catch_up(self) -> None:
        """Load the artifact named in the signal file if this worker serves another one."""
        if self.signal is None or (msg := self.signal.read()) is None:
            return
        if msg["artifact_id"] == self.holder.current.artifact_id:
            return
        try:
            path = resolve_under_root(self.root, msg["path"])
            async with self._lock:
                self.holder.swap(await self._load(path, msg["path"]))
            self.metrics.reload("ok")
        except ReloadError as exc:
            self.metrics.reload("failed")
            log.warning("could not follow a reload by another worker: %s", exc.message)
