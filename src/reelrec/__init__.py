"""reelrec: a recommender system for short-video platforms.

Stability: the names listed in ``__all__`` of each subpackage are public; modules whose name starts
with an underscore are internal.
"""

from reelrec.errors import ArtifactError, DataError, NotFittedError, ReelrecError

__version__ = "0.1.0"

__all__ = ["ArtifactError", "DataError", "NotFittedError", "ReelrecError", "__version__"]
