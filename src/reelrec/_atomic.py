"""Atomic file writes that respect the umask: a reader never sees half a file, others can read it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def current_umask() -> int:
    """The process umask (read by setting it and putting it back: there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` via a temporary sibling renamed into place; returns ``path``.

    ``mkstemp`` creates its file with mode 0600; the file is given the mode a plain ``open`` would
    (``0o666 & ~umask``) before the rename, so a shared report is as readable as any other output.
    """
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; expected a file path to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
