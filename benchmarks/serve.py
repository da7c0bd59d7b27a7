"""Load test of the HTTP service: many keep-alive clients on loopback against a full-scale artifact.

Usage::

    python benchmarks/serve.py [--artifact DIR | --data DIR] [--model NAME] [--epochs 1] [--rows N]
                               [--duration 30] [--connections 16] [--workers 1] [--server-cpus 0]
                               [--client-cpus 1] [--rate 0] [--out FILE]

The artifact is, in order: ``--artifact`` (any trained artifact), or ``--model`` (default: the default
model, two-tower) trained on ``--data`` (any folder ``reelrec.data.load_dataset`` reads, e.g. a
full-scale synthetic KuaiRec) or on an in-process KuaiRec-shaped log of 7,176 users x 10,728 videos
with the big matrix's 12.5 M views (``--rows`` for another size; about 1,750 seen videos per user at
full size, all masked on every request). Serving cost does not depend on how well the model learned,
so neural models train for ``--epochs`` (default 1). Which artifact was measured is printed first and
stored in the result (``artifact``).

The server is the real ``reelrec serve`` in a subprocess; the load generator is this process: asyncio
with raw HTTP/1.1 over ``--connections`` persistent connections (about 90 us of CPU per request; a
general client such as httpx spends more, which on two cores would be taken from the server). Each
request asks for the top-10 of a uniformly drawn known user. By default the loop is closed (each
connection sends its next request when the previous answer arrives); ``--rate R`` instead schedules R
requests/s in total and measures latency from the scheduled time, so queueing delay is not hidden (no
coordinated omission).

With ``--server-cpus``/``--client-cpus`` (Linux) server and generator are pinned to disjoint cores.
Everything is reported as JSON: throughput, latency percentiles, errors, CPU seconds per side, and
the in-process cost of the hot path's pieces (ranking, JSON encoding vs. a pydantic response model).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from reelrec.artifacts import load_artifact, save_artifact
from reelrec.data import Dataset, FeatureTable, IdMap, Interactions
from reelrec.models import DEFAULT_MODEL, canonical_name, create_model, model_class

#: Models trained by epochs of gradient steps (``--epochs`` applies to these only).
NEURAL = ("two-tower", "notebook")

N_USERS, N_ITEMS, N_ROWS = 7176, 10_728, 12_530_806


def synthetic_dataset(seed: int = 0, rows: int = N_ROWS) -> Dataset:
    """A KuaiRec-shaped training log: skewed video popularity, per-user activity, tags, user features.

    Like the big matrix, each (user, video) pair appears at most once, so users have about
    ``rows / 7176`` (1,746 at full size) distinct seen videos, all masked on every request.
    """
    rng = np.random.default_rng(seed)
    log_p = np.log(rng.pareto(2.0, N_ITEMS) + 0.1)
    activity = rng.lognormal(0.0, 0.5, N_USERS)
    per_user = np.clip(np.round(rows * activity / activity.sum()), 1, int(0.9 * N_ITEMS)).astype(np.int64)
    user_blocks, item_blocks = [], []
    for lo in range(0, N_USERS, 256):
        hi = min(N_USERS, lo + 256)
        # Gumbel top-k: per user, distinct videos drawn with probability proportional to popularity.
        keys = log_p + rng.gumbel(size=(hi - lo, N_ITEMS))
        order = np.argsort(-keys, axis=1)
        for r, u in enumerate(range(lo, hi)):
            item_blocks.append(order[r, : per_user[u]])
            user_blocks.append(np.full(per_user[u], u, np.int32))
    user = np.concatenate(user_blocks)
    item = np.concatenate(item_blocks).astype(np.int32)
    label = rng.lognormal(-0.2, 0.6, len(user)).astype(np.float32)
    ts = 1_593_878_400.0 + rng.uniform(0, 60 * 86_400, len(user))
    tags = [sorted(set(rng.integers(1, 40, rng.integers(1, 4)).tolist())) for _ in range(N_ITEMS)]
    items = pl.DataFrame(
        {
            "tags": pl.Series(tags, dtype=pl.List(pl.Int64)),
            "video_type": rng.choice(["NORMAL", "AD"], N_ITEMS, p=[0.95, 0.05]),
            "video_duration": rng.lognormal(9.5, 0.6, N_ITEMS),
        }
    )
    users = pl.DataFrame(
        {
            "user_active_degree": rng.choice(["high_active", "full_active", "middle_active"], N_USERS),
            "follow_user_num": rng.lognormal(3, 1, N_USERS).round(),
        }
    )
    return Dataset(
        users=IdMap(np.arange(N_USERS, dtype=np.int64)),
        items=IdMap(np.arange(N_ITEMS, dtype=np.int64)),
        interactions=Interactions.from_arrays(user, item, label, ts),
        user_features=FeatureTable(users, {"user_active_degree": "categorical", "follow_user_num": "numeric"}),
        item_features=FeatureTable(
            items, {"tags": "multi", "video_type": "categorical", "video_duration": "numeric"}
        ),
        label_name="watch_ratio",
        source="synthetic",
    )


def model_params(name: str, epochs: int) -> dict[str, Any]:
    """Training options for a benchmark artifact: ``epochs`` (and no progress bars) where the model has them."""
    import inspect

    accepted = inspect.signature(model_class(name)).parameters
    wanted: dict[str, Any] = {"progress": False}
    if canonical_name(name) in NEURAL:  # ALS sweeps (mf, ials, hybrid) are also called epochs: keep theirs
        wanted["epochs"] = epochs
    return {k: v for k, v in wanted.items() if k in accepted}


def prepare_artifact(args: argparse.Namespace, workdir: Path) -> tuple[Path, dict[str, Any]]:
    """The artifact to serve and a description of it (what model, trained on what, by whom)."""
    if args.artifact:
        return Path(args.artifact), {"source": f"--artifact {args.artifact}"}
    if args.data:
        from reelrec.data import load_dataset

        dataset = load_dataset(args.data)
        source = f"trained here on --data {args.data}"
    else:
        dataset = synthetic_dataset(rows=args.rows)
        source = f"trained here on the in-process KuaiRec-shaped log ({len(dataset.interactions):,} views)"
    params = model_params(args.model, args.epochs)
    print(f"training {args.model} {params} for the benchmark ...", file=sys.stderr, flush=True)
    model = create_model(args.model, **params).fit(dataset)
    path = save_artifact(model, workdir / "artifacts" / args.model, dataset=dataset)
    return path, {"source": source, "params": params}


def hot_path_costs(artifact: Path, repeats: int = 2000) -> dict[str, float]:
    """Microseconds per call of the GET hot path's pieces, in this process (no HTTP)."""
    from reelrec.serve import ServeSettings, load_state
    from reelrec.serve.encode import item_scores, json_response
    from reelrec.serve.ranking import recommend_user
    from reelrec.serve.schemas import RecommendationsOut

    state = load_state(artifact, ServeSettings(artifact=artifact))
    users = np.random.default_rng(1).integers(0, len(state.users), repeats)
    t = time.perf_counter()
    results = [recommend_user(state, int(u), 10) for u in users]
    rank_us = (time.perf_counter() - t) / repeats * 1e6
    bodies = [
        {"user_id": state.users.raw[int(u)], "cold_start": False, "model": state.model_name,
         "artifact_id": state.artifact_id, "k": 10, "exclude_seen": True, "items": item_scores(state, *r)}
        for u, r in zip(users, results, strict=True)
    ]
    t = time.perf_counter()
    for b in bodies:
        json_response(b)
    dict_us = (time.perf_counter() - t) / repeats * 1e6
    t = time.perf_counter()
    for b in bodies:
        RecommendationsOut.model_validate(b).model_dump_json()
    pydantic_us = (time.perf_counter() - t) / repeats * 1e6
    seen = np.diff(state.model.seen_.indptr)
    return {
        "rank_us": round(rank_us, 1),
        "encode_dict_json_us": round(dict_us, 1),
        "encode_pydantic_us": round(pydantic_us, 1),
        "seen_per_user_mean": round(float(seen.mean()), 1),
        "retrieval": state.retrieval,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_list(text: str | None) -> set[int] | None:
    return None if not text else {int(c) for c in text.split(",")}


def start_server(
    artifact: Path, port: int, workers: int, cpus: set[int] | None, log: Path
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "reelrec", "serve", str(artifact), "--port", str(port),
           "--workers", str(workers), "--log-level", "warning"]
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus and hasattr(os, "sched_setaffinity") else None
    with log.open("wb") as fh:  # a file, not a pipe: nobody reads the server's log while it runs
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, preexec_fn=pin)


async def wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()}")
        try:
            status, body = await one_request(port, "/health")
            if status == 200:
                return json.loads(body)
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError("server did not become healthy")


async def one_request(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
        return await read_response(reader)
    finally:
        writer.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length)
    return status, body


async def connection(
    port: int,
    paths: list[bytes],
    measure_from: float,
    stop: float,
    interval: float | None,
    first_due: float,
    seed: int,
    latencies: list[float],
    errors: dict[str, int],
    answered: list[int],
    last: list[float],
) -> None:
    """One keep-alive connection: closed loop, or open loop sending every ``interval`` seconds."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rng = np.random.default_rng(seed)
    n = len(paths)
    due = first_due
    try:
        while True:
            now = time.perf_counter()
            if interval is not None:
                if due > now:
                    await asyncio.sleep(due - now)
                sent_at, due = due, due + interval
            else:
                sent_at = now
            if sent_at >= stop:
                break
            writer.write(paths[int(rng.integers(n))])
            try:
                status, _ = await read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return
            answered[0] += 1
            if sent_at >= measure_from:  # warm-up requests are not counted
                finished = time.perf_counter()
                latencies.append(finished - sent_at)
                last[0] = max(last[0], finished)
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + 1
    finally:
        writer.close()


async def run_load(
    port: int, user_ids: list[Any], k: int, connections: int, warmup: float, duration: float, rate: float
) -> dict[str, Any]:
    """Drive the server for ``warmup + duration`` seconds; statistics cover the last ``duration``."""
    paths = [f"GET /v1/users/{u}/recommendations?k={k} HTTP/1.1\r\nHost: bench\r\n\r\n".encode() for u in user_ids]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    answered = [0]  # warm-up included, to divide the server's CPU time by
    last = [0.0]  # when the last measured answer arrived
    begin = time.perf_counter()
    start, stop = begin + warmup, begin + warmup + duration
    interval = connections / rate if rate > 0 else None
    spread = interval or 0.0
    shared = (latencies, errors, answered, last)
    await asyncio.gather(*(
        connection(port, paths, start, stop, interval, begin + i * spread / connections, i, *shared)
        for i in range(connections)
    ))
    lat = np.sort(np.asarray(latencies)) * 1e3
    done = len(lat)
    # Answers to requests sent before `stop` may arrive after it (an overloaded open loop): divide by
    # the time actually taken, so the throughput is what the server achieved, not what was offered.
    elapsed = max(duration, last[0] - start)
    return {
        "requests": done,
        "throughput_rps": round(done / elapsed, 1),
        "elapsed_s": round(elapsed, 2),
        "latency_ms": {
            q: round(float(np.percentile(lat, p)), 2) if done else None
            for q, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
        },
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "answered_incl_warmup": answered[0],
    }


def tree_cpu_seconds(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifact", help="Serve this trained artifact.")
    parser.add_argument("--data", help="Train the --model artifact on this data folder.")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"Model to train and serve (default {DEFAULT_MODEL}).")
    parser.add_argument("--epochs", type=int, default=1, help="Training epochs of a neural --model.")
    parser.add_argument("--rows", type=int, default=N_ROWS, help="Views in the in-process log.")
    parser.add_argument("--duration", type=float, default=30.0, help="Measured seconds.")
    parser.add_argument("--warmup", type=float, default=3.0, help="Unmeasured seconds first.")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=float, default=0.0, help="Open loop at this many requests/s (0: closed).")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--server-cpus", help="Comma-separated cores for the server, e.g. 0.")
    parser.add_argument("--client-cpus", help="Comma-separated cores for this load generator, e.g. 1.")
    parser.add_argument("--out", help="Also write the JSON result here.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="reelrec-bench-") as tmp:
        t0 = time.perf_counter()
        artifact, described = prepare_artifact(args, Path(tmp))
        prepare_s = time.perf_counter() - t0
        costs = hot_path_costs(artifact)
        art = load_artifact(artifact, model_class)
        user_ids = art.model.users_.to_list()
        manifest = art.manifest
        used = {"model": manifest["model"], "artifact_id": manifest.get("artifact_id"), **described}
        del art
        print(f"benchmarking the {used['model']} artifact ({used['source']})", file=sys.stderr, flush=True)
        client_cpus = cpu_list(args.client_cpus)
        if client_cpus and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, client_cpus)
        port = free_port()
        log = Path(tmp) / "server.log"
        proc = start_server(artifact, port, args.workers, cpu_list(args.server_cpus), log)
        try:
            health = asyncio.run(wait_ready(port, proc, log))
            server_cpu0, client_cpu0 = tree_cpu_seconds(proc.pid), time.process_time()
            load = asyncio.run(
                run_load(port, user_ids, args.k, args.connections, args.warmup, args.duration, args.rate)
            )
            span = args.warmup + args.duration
            server_cpu = tree_cpu_seconds(proc.pid) - server_cpu0
            client_cpu = time.process_time() - client_cpu0
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    result = {
        "model": manifest["model"],
        "artifact": used,
        "n_users": manifest["n_users"],
        "n_items": manifest["n_items"],
        "retrieval": health["retrieval"],
        "k": args.k,
        "connections": args.connections,
        "mode": f"open loop at {args.rate:g} rps" if args.rate > 0 else "closed loop",
        "workers": args.workers,
        "server_cpus": args.server_cpus or "any",
        "client_cpus": args.client_cpus or "any",
        "cores_visible": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "duration_s": args.duration,
        **load,
        "server_cpu_cores": round(server_cpu / span, 2),
        "client_cpu_cores": round(client_cpu / span, 2),
        # CPU time is what contention from other processes inflates least: it gives the capacity of one
        # core given to the server alone.
        "server_cpu_us_per_request": round(server_cpu / max(1, load["answered_incl_warmup"]) * 1e6, 1),
        "capacity_rps_per_server_core": round(load["answered_incl_warmup"] / max(server_cpu, 1e-9), 1),
        "prepare_s": round(prepare_s, 1),
        "in_process": costs,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
