"""The loop serve -> log events -> ``reelrec train --events`` -> reload (no double counting), a crash
mid-stream (every acknowledged event survives ``kill -9``), and two workers sharing one store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from reelrec.artifacts import load_artifact
from reelrec.data import load_dataset
from reelrec.events import EventStore
from reelrec.models import model_class
from reelrec.serve import ServeSettings, create_app
from tests.cli.helpers import run_in_process as run
from tests.serve.conftest import live_server
from tests.serve.test_cli_serve import free_port


def train(capsys, data: Path, out: Path, *extra: object) -> dict:
    code, stdout, err = run(capsys, "train", data, "--out", out, "--model", "popularity", "--json", *extra)
    assert code == 0, err
    return json.loads(stdout)


def test_train_on_events_then_reload_applies_each_event_once(capsys, tmp_path, kuairec_tiny):
    data = load_dataset(kuairec_tiny)
    arts, store = tmp_path / "arts", tmp_path / "feed.db"
    train(capsys, kuairec_tiny, arts / "a")
    old = load_artifact(arts / "a", model_class).model
    user = int(data.users.raw_ids[0])
    unseen = np.setdiff1d(np.arange(data.n_items), old.seen_[0].indices)
    videos = [int(v) for v in data.items.raw_ids[unseen[:3]]]
    settings = ServeSettings(artifact=arts / "a", events=store)
    with live_server(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as c:
        events = [{"user_id": user, "item_id": v, "watch_ratio": 1.5} for v in videos]
        events.append({"user_id": 990001, "item_id": videos[0], "watch_ratio": 0.9})
        assert c.post("/v1/events", json={"events": events}).json()["last_event_id"] == 4
        body = c.get(f"/v1/users/{user}/recommendations", params={"k": 20}).json()
        assert body["live_events"] == 3 and not set(videos) & {x["item_id"] for x in body["items"]}

        result = train(capsys, kuairec_tiny, arts / "b", "--events", store)
        assert result["events"] == {"last_event_id": 4, "rows": 4, "new_users": 1, "new_items": 0}
        new = load_artifact(arts / "b", model_class)
        assert new.dataset["events"]["last_event_id"] == 4
        # Training counted each event once: one more viewer per video (two for the first one).
        gained = new.model.item_popularity_[unseen[:3]] - old.item_popularity_[unseen[:3]]
        assert gained.tolist() == [2.0, 1.0, 1.0]
        assert 990001 in new.model.users_

        assert c.post("/v1/admin/reload", json={"path": "b"}).status_code == 200
        body = c.get(f"/v1/users/{user}/recommendations", params={"k": 20}).json()
        assert body["live_events"] == 0  # the events are in the model now: none is applied again
        assert not set(videos) & {x["item_id"] for x in body["items"]}
        fresh = c.get("/v1/users/990001/recommendations", params={"k": 5}).json()
        assert fresh["cold_start"] is False and fresh["live_events"] == 0
        # Events after the artifact's last one are applied at once.
        nxt = {"user_id": user, "item_id": body["items"][0]["item_id"], "watch_ratio": 1.0}
        assert c.post("/v1/events", json={"events": [nxt]}).json()["last_event_id"] == 5
        again = c.get(f"/v1/users/{user}/recommendations", params={"k": 20}).json()
        assert again["live_events"] == 1 and nxt["item_id"] not in {x["item_id"] for x in again["items"]}


def start_server(art: Path, store: Path, port: int, workers: int = 1) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reelrec", "serve", str(art), "--port", str(port), "--events", str(store),
         "--workers", str(workers), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def wait_up(proc: subprocess.Popen[str], url: str, workers: int = 1) -> None:
    deadline = time.monotonic() + 120
    pids: set[int] = set()
    while len(pids) < workers:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the server did not come up"
        try:
            pids.add(httpx.get(f"{url}/health", timeout=5).json()["pid"])
        except httpx.HTTPError:
            time.sleep(0.2)


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


@pytest.fixture(scope="module")
def pop_art(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from reelrec.artifacts import save_artifact
    from reelrec.models import create_model
    from tests.conftest import make_toy_dataset

    data = make_toy_dataset()
    path = tmp_path_factory.mktemp("crash") / "arts" / "a"
    save_artifact(create_model("popularity").fit(data), path, dataset=data)
    return path


@pytest.mark.slow
def test_every_acknowledged_event_survives_kill_9(pop_art, tmp_path):
    store, port = tmp_path / "feed.db", free_port()
    url = f"http://127.0.0.1:{port}"
    items = load_artifact(pop_art, model_class).model.items_.raw_ids.tolist()
    proc = start_server(pop_art, store, port)
    acked: list[tuple[int, list[dict]]] = []
    stop_flag = threading.Event()

    def stream() -> None:
        with httpx.Client(base_url=url, timeout=10) as c:
            for batch in range(100_000):
                if stop_flag.is_set():
                    return
                events = [
                    {"user_id": 500_000 + batch, "item_id": items[(batch + j) % len(items)], "watch_ratio": j / 10}
                    for j in range(25)
                ]
                try:
                    r = c.post("/v1/events", json={"events": events})
                except httpx.HTTPError:
                    return  # the server is gone: this batch was never acknowledged
                if r.status_code == 200:
                    acked.append((r.json()["last_event_id"], events))

    try:
        wait_up(proc, url)
        writer = threading.Thread(target=stream)
        writer.start()
        deadline = time.monotonic() + 60
        while len(acked) < 30:
            assert time.monotonic() < deadline and writer.is_alive(), "the stream did not get going"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # mid-stream: requests are in flight
        proc.wait(timeout=30)
        writer.join(timeout=30)
        stop_flag.set()
        assert not writer.is_alive()
        proc = start_server(pop_art, store, port)  # the same store, after the crash
        wait_up(proc, url)
        reader = EventStore(store)
        for last, events in acked:
            stored = reader.recent(str(events[0]["user_id"]), 100)
            assert [(r.item_id, r.watch_ratio) for r in stored] == [
                (str(e["item_id"]), e["watch_ratio"]) for e in events
            ]
            assert stored[-1].id == last
        reader.close()
        user = acked[-1][1][0]["user_id"]
        body = httpx.get(f"{url}/v1/users/{user}/recommendations", params={"k": 5}, timeout=10).json()
        assert body["live_events"] == 25
    finally:
        stop_flag.set()
        stop(proc)


@pytest.mark.slow
def test_an_event_taken_by_one_worker_is_used_by_the_other(pop_art, tmp_path):
    store, port = tmp_path / "feed.db", free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(pop_art, store, port, workers=2)
    try:
        wait_up(proc, url, workers=2)
        user = 100
        before = httpx.get(f"{url}/v1/users/{user}/recommendations", params={"k": 3}).json()["items"]
        video = before[0]["item_id"]
        # Each request opens a new connection, so the requests spread over both workers.
        r = httpx.post(f"{url}/v1/events", json={"events": [{"user_id": user, "item_id": video, "watch_ratio": 1}]})
        assert r.status_code == 200
        served_by: set[int] = set()
        deadline = time.monotonic() + 60
        while len(served_by) < 2:
            assert time.monotonic() < deadline, f"only workers {served_by} answered"
            pid = httpx.get(f"{url}/health").json()["pid"]
            body = httpx.get(f"{url}/v1/users/{user}/recommendations", params={"k": 3}).json()
            assert video not in [x["item_id"] for x in body["items"]] and body["live_events"] == 1
            served_by.add(pid)
    finally:
        stop(proc)


@pytest.mark.slow
def test_serve_refuses_an_event_store_path_that_is_a_directory(pop_art, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "reelrec", "serve", str(pop_art), "--events", str(tmp_path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: --events") and "is a directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_train_refuses_a_missing_event_store(capsys, tmp_path, kuairec_tiny):
    code, _, err = run(capsys, "train", kuairec_tiny, "--out", tmp_path / "x", "--model", "popularity",
                       "--events", tmp_path / "nope.db")
    assert code == 2 and "nope.db" in err and "no such event store" in err
    assert not (tmp_path / "x").exists()
