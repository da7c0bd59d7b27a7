"""Optional parts of reelrec and the packages each needs: one clear line when an extra is missing.

A core install trains, evaluates and recommends; the service, approximate retrieval and the HTML
report install as extras (``pip install 'reelrec[serve]'``, ``[ann]``, ``[report]``).
"""

from __future__ import annotations

import importlib.util

from reelrec.errors import ReelrecError

#: Import names each extra provides (the distributions are listed in pyproject.toml).
EXTRAS: dict[str, tuple[str, ...]] = {
    "serve": ("fastapi", "starlette", "anyio", "uvicorn", "prometheus_client"),
    "ann": ("faiss",),
    "report": ("matplotlib",),
}


class MissingExtraError(ReelrecError, ImportError):
    """An optional part was used without its extra installed; the message names the ``pip install``."""


def require_extra(extra: str, what: str) -> None:
    """Raise :class:`MissingExtraError` unless every package of ``extra`` can be imported.

    ``what`` names the part that needs them, e.g. ``"reelrec serve"``. Only looks the packages up
    (no import), so checking costs nothing when they are present.
    """
    missing = [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtraError(
            f"{what} needs the optional package{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
            f"pip install 'reelrec[{extra}]'"
        )
