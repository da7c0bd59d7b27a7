"""Real-time service: FastAPI app over a trained artifact, exact/ANN retrieval, metrics, exploration page.

Stability: provisional. The HTTP API is versioned under ``/v1``.
"""

from reelrec.serve.app import create_app, create_app_from_env
from reelrec.serve.retrieval import ExactRetriever, FaissRetriever, Retriever, build_retriever
from reelrec.serve.settings import ServeSettings
from reelrec.serve.state import ModelHolder, ServingState, build_state, load_state

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
