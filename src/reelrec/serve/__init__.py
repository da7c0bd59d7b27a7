"""Real-time service: FastAPI app over a trained artifact, exact/ANN retrieval, metrics, exploration page.

Stability: provisional. The HTTP API is versioned under ``/v1``.
"""

from reelrec._extras import require_extra

# Before the service's own modules pull in fastapi: one line naming the extra, not an import traceback.
require_extra("serve", "the service (reelrec.serve)")

from reelrec.serve.app import create_app, create_app_from_env  # noqa: E402
from reelrec.serve.retrieval import ExactRetriever, FaissRetriever, Retriever, build_retriever  # noqa: E402
from reelrec.serve.settings import ServeSettings  # noqa: E402
from reelrec.serve.state import ModelHolder, ServingState, build_state, load_state  # noqa: E402

__all__ = [
    "ExactRetriever",
    "FaissRetriever",
    "ModelHolder",
    "Retriever",
    "ServeSettings",
    "ServingState",
    "build_retriever",
    "build_state",
    "create_app",
    "create_app_from_env",
    "load_state",
]
