"""Fixtures: one tiny synthetic KuaiRec folder (CSV big matrix) per session, for the out-of-core fits."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelrec.synth import write_kuairec

#: Settings that keep a two-tower fit to a few seconds (the out-of-core and in-memory fits share them).
FAST = {
    "embedding_size": 16,
    "hidden": [32],
    "epochs": 3,
    "history_size": 16,
    "refit": False,
    "residual": "none",
    "progress": False,
}


@pytest.fixture(scope="session")
def tiny_kuairec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scale-0.004 world (about 53 k big-matrix views), written once."""
    out = tmp_path_factory.mktemp("kuairec-tiny")
    write_kuairec(out, scale=0.004, seed=0)
    return out
