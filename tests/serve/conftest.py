"""Service fixtures: real popularity artifacts on disk, an in-memory embedding model, live servers."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import uvicorn
from fastapi import FastAPI
from numpy.typing import NDArray

from reelrec.artifacts import Artifact, recent_history, save_artifact
from reelrec.data import Dataset, FeatureTable
from reelrec.models import Recommender, create_model
from reelrec.serve import ServeSettings, build_state, create_app
from tests.conftest import make_toy_dataset

with warnings.catch_warnings():
    # Starlette now prefers httpx2 for its TestClient; httpx (a declared dependency) still works.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


class DotModel(Recommender):
    """A small real model with an embedding space: score = user . item (+ optional item bias).

    Users get random vectors; a new user's vector is a fixed linear map of their numeric features, so
    cold start depends on the features. ``predict`` maps the dot product to a positive watch ratio.
    """

    name = "dot-test"
    regresses = True
    supports_cold_start = True

    def __init__(self, dim: int = 6, seed: int = 0, item_bias: bool = False, expose_users: bool = True) -> None:
        self.dim = dim
        self.seed = seed
        self.item_bias = item_bias
        self.expose_users = expose_users

    def _fit(self, dataset: Dataset) -> None:
        rng = np.random.default_rng(self.seed)
        self.user_emb_ = rng.normal(size=(dataset.n_users, self.dim)).astype(np.float32)
        self.item_emb_ = rng.normal(size=(dataset.n_items, self.dim)).astype(np.float32)
        bias = rng.normal(size=dataset.n_items) if self.item_bias else np.zeros(dataset.n_items)
        self.bias_ = bias.astype(np.float32)
        self.proj_ = rng.normal(size=(2, self.dim)).astype(np.float32)

    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        return self.user_emb_[users] @ self.item_emb_.T + self.bias_

    def _score_features(self, user_features: FeatureTable) -> NDArray[np.float32]:
        frame = user_features.frame
        age = frame["age"].cast(pl.Float64).fill_null(30.0).to_numpy() / 30.0 - 1.0
        follows = np.log1p(frame["follows"].cast(pl.Float64).fill_null(0.0).to_numpy()) / 3.0 - 1.0
        vec = np.stack([age, follows], axis=1).astype(np.float32) @ self.proj_
        return vec @ self.item_emb_.T + self.bias_

    def _predict(self, users: NDArray[np.int32], items: NDArray[np.int32]) -> NDArray[np.float32]:
        dots = (self.user_emb_[users] * self.item_emb_[items]).sum(axis=1)
        return np.exp(0.1 * dots).astype(np.float32)

    def item_embeddings(self) -> NDArray[np.float32]:
        return self.item_emb_

    def user_embeddings(self) -> NDArray[np.float32] | None:
        return self.user_emb_ if self.expose_users else None


def display_items(dataset: Dataset) -> pl.DataFrame:
    """The item display table an artifact carries: item_id plus categorical/multi columns."""
    assert dataset.item_features is not None
    frame = dataset.item_features.frame.select(["tags", "category"])
    return frame.with_columns(pl.Series("item_id", dataset.items.raw_ids)).select(["item_id", "tags", "category"])


def memory_artifact(model: Recommender, dataset: Dataset, path: Path, artifact_id: str) -> Artifact:
    """An Artifact built in memory (for model classes the registry does not know)."""
    return Artifact(
        path=path,
        model=model,
        manifest={"artifact_id": artifact_id, "model": model.name, "created": "2025-01-01T00:00:00+00:00"},
        dataset=dataset.summary(),
        history=recent_history(dataset, 50),
        items=display_items(dataset),
    )


@pytest.fixture(scope="session")
def toy() -> Dataset:
    return make_toy_dataset()


@pytest.fixture(scope="session")
def toy_b() -> Dataset:
    """Same ids, different interactions: its popularity ranking differs from ``toy``'s."""
    return make_toy_dataset(seed=1)


@pytest.fixture(scope="session")
def artifact_root(tmp_path_factory: pytest.TempPathFactory, toy: Dataset, toy_b: Dataset) -> Path:
    """A directory with two popularity artifacts, ``a`` and ``b`` (read-only for tests)."""
    root = tmp_path_factory.mktemp("artifacts")
    save_artifact(create_model("popularity").fit(toy), root / "a", dataset=toy, metrics={"ndcg@10": 0.1})
    save_artifact(create_model("popularity").fit(toy_b), root / "b", dataset=toy_b)
    return root


@pytest.fixture
def settings(artifact_root: Path) -> ServeSettings:
    return ServeSettings(artifact=artifact_root / "a")


@pytest.fixture
def client(settings: ServeSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="session")
def dot_model(toy: Dataset) -> DotModel:
    return DotModel().fit(toy)


@pytest.fixture
def dot_client(dot_model: DotModel, toy: Dataset, artifact_root: Path) -> Iterator[TestClient]:
    """The service over the in-memory embedding model (known users served by the exact retriever)."""
    settings = ServeSettings(artifact=artifact_root / "a", retrieval="exact")
    state = build_state(memory_artifact(dot_model, toy, artifact_root / "dot", "dot000000001"), settings)
    with TestClient(create_app(settings, state=state)) as c:
        yield c


def free_socket() -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio enables TCP_NODELAY only on sockets that say they are TCP, and
    # without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def live_server(app: FastAPI, **config: Any) -> Iterator[str]:
    """Run ``app`` on uvicorn in a thread, on a free loopback port; yields the base URL."""
    sock = free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture
def live_url(settings: ServeSettings) -> Iterator[str]:
    with live_server(create_app(settings)) as url:
        yield url
