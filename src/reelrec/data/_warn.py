"""DataWarning helper that points the warning at the caller's code, not at reelrec's loader internals."""

from __future__ import annotations

import sys
import warnings
from types import FrameType

from reelrec.errors import DataWarning


def warn_data(message: str) -> None:
    """Emit ``DataWarning(message)`` attributed to the first frame outside ``reelrec.data``."""
    level = 2
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("reelrec.data"):
        frame = frame.f_back
        level += 1
    warnings.warn(DataWarning(message), stacklevel=level)
