"""A version string derived from the package's own source, for cache keys that must follow code changes."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from reelrec import __version__

_PACKAGE = Path(__file__).resolve().parent


@cache
def code_version(*subpackages: str) -> str:
    """``"<release>+<digest>"``: the release number and a digest of the named subpackages' ``.py`` files.

    A cache keyed on this string is invalidated by any edit of the code that produced the cached
    output, with nothing to remember to bump. No names: the whole package. Computed once per
    process (reading a few hundred small files takes milliseconds).

    Parameters
    ----------
    subpackages : str
        Folder names under ``reelrec/`` (e.g. ``"data"``, ``"eval"``).
    """
    roots = [_PACKAGE / name for name in subpackages] if subpackages else [_PACKAGE]
    digest = hashlib.sha256()
    for root in roots:
        if not root.is_dir():
            raise ValueError(f"code_version: {root.name!r} is not a subpackage of reelrec")
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(_PACKAGE).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return f"{__version__}+{digest.hexdigest()[:16]}"
