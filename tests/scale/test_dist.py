"""Distributed helpers: torchrun's environment parsed strictly; reductions agree across real processes."""

from __future__ import annotations

import os
import socket

import pytest
import torch.multiprocessing as mp

from reelrec.scale import (
    DistInfo,
    all_reduce_mean,
    all_reduce_sum,
    any_rank,
    barrier,
    broadcast_object,
    current,
    distributed_session,
    env_info,
    init_distributed,
    rank_device,
)


def test_env_defaults_to_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert env_info() == DistInfo(0, 1, 0)
    assert init_distributed("cpu") == DistInfo(0, 1, 0)  # nothing to start
    assert current().is_main and not current().distributed
    assert all_reduce_mean({"a": 2.0}) == {"a": 2.0} and any_rank(False) is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RANK": "x", "WORLD_SIZE": "2"}, "RANK='x', expected a whole number"),
        ({"RANK": "2", "WORLD_SIZE": "2"}, r"RANK=2, must be in \[0, WORLD_SIZE=2\)"),
        ({"WORLD_SIZE": "0"}, "WORLD_SIZE=0, must be >= 1"),
    ],
)
def test_env_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch, env: dict, message: str) -> None:
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ValueError, match=message):
        env_info()


def test_missing_rendezvous_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    with pytest.raises(ValueError, match="MASTER_ADDR, MASTER_PORT is not set; launch with torchrun"):
        init_distributed("cpu")


def test_rank_device_on_cpu() -> None:
    assert rank_device("cpu", DistInfo(1, 2, 1)).type == "cpu"


def _worker(rank: int, world: int, port: int, queue) -> None:
    os.environ.update(
        {"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank),
         "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    )
    with distributed_session("cpu") as info:
        barrier()
        mean = all_reduce_mean({"b": float(rank), "a": 10.0 * rank})
        total = all_reduce_sum([1.0, float(rank)])
        flag = any_rank(rank == world - 1)
        obj = broadcast_object({"from": rank})
        queue.put((info.rank, mean, total, flag, obj))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_reductions_agree_across_two_processes() -> None:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(r, 2, port, queue)) for r in range(2)]
    for p in procs:
        p.start()
    results = sorted(queue.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    for _rank, mean, total, flag, obj in results:
        assert mean == {"a": 5.0, "b": 0.5}
        assert total == [2.0, 1.0]
        assert flag is True
        assert obj == {"from": 0}
    assert [r[0] for r in results] == [0, 1]
