"""Service settings: one frozen object, passed to worker processes through one environment variable."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: Environment variable carrying the settings (JSON) from ``reelrec serve`` to uvicorn's workers.
SETTINGS_ENV = "REELREC_SERVE_SETTINGS"
#: Environment variable holding the bearer token that ``POST /v1/admin/reload`` requires, when set.
ADMIN_TOKEN_ENV = "REELREC_ADMIN_TOKEN"


class ServeSettings(BaseModel):
    """How the service loads, confines and serves artifacts.

    Attributes
    ----------
    artifact : Path
        The artifact loaded at start-up.
    artifact_root : Path or None
        Reloads may only name artifacts under this directory; default: the parent of ``artifact``.
    max_body_bytes : int
        Larger request bodies get ``413``.
    retrieval : "auto", "exact" or "ann"
        Search over item embeddings: ``auto`` uses a faiss index from ``ann_min_items`` items up.
    ann_min_items, ann_nprobe : int
        The ``auto`` threshold, and the faiss cells scanned per query (recall/latency).
    threads : int or None
        Torch/faiss threads per worker process (``reelrec serve`` uses 1, so concurrent requests do not
        oversubscribe cores); ``None`` leaves the process-wide setting alone (tests, embedding).
    reload_signal : Path or None
        A file through which worker processes tell each other about reloads (set by ``--workers > 1``).
    reload_poll_seconds : float
        How often workers look at ``reload_signal``.
    events : Path or None
        The event store (SQLite file) that ``POST /v1/events`` and ``POST /v1/items`` write and every
        recommendation reads; ``None`` (the default) turns the live feed off.
    events_window : int
        A user's newest events read per recommendation: the videos they show are not recommended again,
        and those newer than the artifact's training data form the session history.
    feed_max_per_tag, feed_explore_share : int or None, float
        Default feed rules of ``POST /v1/recommendations`` (a request's ``rules`` override them): at most
        this many videos per first tag, and this share of slots for little-seen videos. Off by default.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    artifact: Path
    artifact_root: Path | None = None
    max_body_bytes: int = Field(1 << 20, ge=1024)
    retrieval: Literal["auto", "exact", "ann"] = "auto"
    ann_min_items: int = Field(100_000, ge=1)
    ann_nprobe: int = Field(128, ge=1)
    threads: int | None = Field(None, ge=1)
    reload_signal: Path | None = None
    reload_poll_seconds: float = Field(0.5, gt=0)
    events: Path | None = None
    events_window: int = Field(200, ge=1, le=1000)
    feed_max_per_tag: int | None = Field(None, ge=1)
    feed_explore_share: float = Field(0.0, ge=0, le=1)

    @cached_property
    def root(self) -> Path:
        """The resolved directory that confines reloads."""
        root = self.artifact_root if self.artifact_root is not None else self.artifact.parent
        return root.resolve()

    def to_env(self) -> str:
        """JSON for :data:`SETTINGS_ENV`."""
        return self.model_dump_json()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServeSettings:
        """Settings written by :meth:`to_env`; ``KeyError`` naming the variable when it is absent."""
        env = os.environ if environ is None else environ
        if SETTINGS_ENV not in env:
            raise KeyError(f"{SETTINGS_ENV} is not set; start the service with `reelrec serve ART`")
        return cls.model_validate(json.loads(env[SETTINGS_ENV]))


def admin_token(environ: Mapping[str, str] | None = None) -> str | None:
    """The reload token from the environment (never stored in settings, logs or responses)."""
    env = os.environ if environ is None else environ
    return env.get(ADMIN_TOKEN_ENV) or None
