"""Data-parallel training: two CPU processes under torchrun match one process, write one artifact, resume."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from reelrec.pipeline import train_run
from reelrec.synth import write_kuairec
from reelrec.training._parallel import data_parallel, rank_share, rank_slice

SETTINGS = [
    'model="two-tower"',  # named: a one-process run in memory would otherwise train the default hybrid
    "training.epochs=3",
    "params.embedding_size=16",
    "params.hidden=[32]",
    "params.history_size=16",
    "params.refit=false",
    'params.residual="none"',
    "training.progress=false",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _torchrun(*args: str | Path, timeout: float = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
        "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m", "reelrec", *map(str, args),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def _sets(extra: list[str] = ()) -> list[str]:
    out: list[str] = []
    for item in [*SETTINGS, *extra]:
        out += ["--set", item]
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kuairec")
    write_kuairec(out, scale=0.004, seed=0)
    return out


def test_one_process_is_unchanged() -> None:
    order = torch.arange(10)
    assert rank_share(10, 4) == (10, 4)
    sliced, batch = rank_slice(order, 4)
    assert batch == 4 and torch.equal(sliced, order)

    class Task:
        module = torch.nn.Linear(2, 1)

        def step(self, batch: object) -> tuple[torch.Tensor, int]:
            return torch.zeros(()), 0

    task = Task()
    step, joined, info = data_parallel(task, torch.device("cpu"))
    assert step == task.step and not info.distributed
    with joined():
        pass


def test_two_processes_match_one_and_write_one_artifact(data: Path, tmp_path: Path) -> None:
    single = train_run(data, tmp_path / "single", overrides=SETTINGS, quiet=True)
    out = tmp_path / "runs" / "ddp"
    ckpt = tmp_path / "ckpt"
    proc = _torchrun("train", data, "--out", out, "--json", *_sets([f'training.checkpoint_dir="{ckpt}"']))
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Rank 0 alone reports and writes: one JSON document, one artifact folder, no leftovers beside it.
    result = json.loads(proc.stdout)
    assert result["processes"] == 2 and result["rank"] == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["ddp"]
    history = json.loads((out / "metrics.json").read_text())["history"]
    assert [h["processes"] for h in history] == [2, 2, 2]
    single_history = json.loads((tmp_path / "single" / "metrics.json").read_text())["history"]
    # The ranks share each epoch's rows: together they train exactly the rows one process trains.
    assert [h["rows"] for h in history] == [h["rows"] for h in single_history]
    for name, tolerance in (("ndcg@10", 0.03), ("recall@10", 0.03), ("rmse", 0.03)):
        assert result["metrics"][name] == pytest.approx(single["metrics"][name], abs=tolerance), name
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    # Rank 0's checkpoints; a longer run resumes from the newest one instead of starting over.
    assert sorted(p.name for p in ckpt.iterdir()) == ["epoch-000002", "epoch-000003"]
    again = tmp_path / "runs" / "resumed"
    proc = _torchrun(
        "train", data, "--out", again, "--json",
        *_sets([f'training.checkpoint_dir="{ckpt}"', "training.resume=true", "training.epochs=4"]),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    resumed = json.loads((again / "metrics.json").read_text())["history"]
    assert len(resumed) == 4
    assert resumed[:3] == history  # replayed from the checkpoint, not retrained
    assert "epoch-000004" in {p.name for p in ckpt.iterdir()}
