"""Exception types shared by every part of reelrec, chosen by meaning."""

from __future__ import annotations


class ReelrecError(Exception):
    """Base class for reelrec's own errors; the CLI prints these as one line, without a traceback."""


class DataError(ReelrecError, ValueError):
    """Input data is malformed: the message names the file, column, row and what was expected."""


class NotFittedError(ReelrecError, RuntimeError):
    """A model was used before ``fit`` (or ``load``) gave it learned state."""


class ArtifactError(ReelrecError, ValueError):
    """A saved model directory is missing, corrupt, or of an unsupported format version."""


class DataWarning(UserWarning):
    """Recoverable oddities in input data (e.g. feature rows for ids with no interactions)."""
