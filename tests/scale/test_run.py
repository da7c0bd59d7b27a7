"""``reelrec train --stream``: store built once, artifact written by rank 0, DDP ranks on their own shards."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reelrec.artifacts import load_artifact
from reelrec.data import load_dataset
from reelrec.models import model_class
from reelrec.pipeline import train_run
from reelrec.scale import ShardStore, store_from_dataset
from tests.scale.conftest import FAST

SETS = [f"params.{k}={json.dumps(v)}" for k, v in FAST.items() if k not in ("epochs", "progress")] + [
    "training.epochs=1",
    "training.progress=false",
]


def test_stream_trains_evaluates_and_saves(tiny_kuairec: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REELREC_CACHE_DIR", str(tmp_path / "cache"))
    result = train_run(tiny_kuairec, tmp_path / "art", overrides=SETS, quiet=True, stream=True)
    assert result["protocol"] == "kuairec" and result["processes"] == 1
    assert result["views"] == len(load_dataset(tiny_kuairec).interactions)
    assert 0.05 < result["metrics"]["ndcg@10"] <= 1.0 and np.isfinite(result["metrics"]["rmse"])
    stores = list((tmp_path / "cache").glob("store-*"))
    assert len(stores) == 1  # built once in the data cache
    art = load_artifact(tmp_path / "art", model_class)
    summary = json.loads((tmp_path / "art" / "dataset.json").read_text())
    assert summary["pairs"] == result["pairs"] and summary["interactions"] == result["views"]
    assert art.config["stream"] is True and art.model.options_["out_of_core"]
    # The artifact's history file keeps each user's latest views only.
    assert art.history is not None and len(art.history.items) > 0
    assert np.diff(art.history.indptr).max() <= 50
    top, _ = art.model.recommend_indices(np.arange(5, dtype=np.int32), k=10)
    assert (top >= 0).all()


def test_a_store_folder_trains_without_a_protocol(tiny_kuairec: Path, tmp_path: Path) -> None:
    store = store_from_dataset(load_dataset(tiny_kuairec), tmp_path / "store")
    result = train_run(store.path, tmp_path / "art", overrides=SETS, quiet=True)  # detected: no --stream
    assert result["protocol"] == "none" and result["metrics"] == {} and result["pairs"] == store.n_pairs
    assert load_artifact(tmp_path / "art", model_class).model.n_items == store.n_items
    with pytest.raises(ValueError, match="not available out of core"):
        train_run(store.path, tmp_path / "art2", overrides=[*SETS, 'data.protocol="holdout"'], quiet=True)
    with pytest.raises(ValueError, match="trains in memory only"):
        train_run(store.path, tmp_path / "art3", overrides=['model="ease"'], quiet=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_processes_read_their_own_shards(tiny_kuairec: Path, tmp_path: Path) -> None:
    store = store_from_dataset(load_dataset(tiny_kuairec), tmp_path / "store", shard_pairs=8_000)
    assert len(store.shards) >= 4
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    out = tmp_path / "runs" / "art"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
        "--master-addr", "127.0.0.1", "--master-port", str(_free_port()),
        "-m", "reelrec", "train", str(store.path), "--out", str(out), "--stream", "--json",
    ]
    for item in SETS:
        cmd += ["--set", item]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=80, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["processes"] == 2 and result["rank"] == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["art"]
    history = json.loads((out / "metrics.json").read_text())["history"]
    assert [h["processes"] for h in history] == [2]
    held = history[0]["rows"]
    assert 0.8 * store.n_pairs < held < store.n_pairs  # every training pair once, over both ranks
    assert ShardStore(store.path).n_pairs == store.n_pairs  # the store was read, not rewritten


def test_parquet_only_kuairec_folders_are_streamed(tmp_path: Path) -> None:
    from reelrec.pipeline._runs import _parquet_only_kuairec
    from reelrec.synth import write_kuairec

    write_kuairec(tmp_path / "pq", scale=0.002, seed=1, big_format="parquet")
    write_kuairec(tmp_path / "csv", scale=0.002, seed=1)
    assert _parquet_only_kuairec(tmp_path / "pq")
    assert not _parquet_only_kuairec(tmp_path / "csv")
    # Both formats present: the CSV keeps the in-memory path it always took.
    (tmp_path / "pq" / "big_matrix").rename(tmp_path / "csv" / "big_matrix")
    assert any((tmp_path / "csv" / "big_matrix").glob("*.parquet"))
    assert not _parquet_only_kuairec(tmp_path / "csv")
