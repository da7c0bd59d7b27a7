"""``reelrec serve`` (``reelrec/cli/_serve.py``): clean start-up errors, and a real multi-worker server
that relays reloads."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from reelrec.artifacts import read_manifest, save_artifact
from reelrec.models import create_model
from tests.conftest import make_toy_dataset


@pytest.fixture(scope="module")
def arts(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve-cli") / "arts"
    for name, seed in (("a", 0), ("b", 1)):
        data = make_toy_dataset(seed=seed)
        save_artifact(create_model("popularity").fit(data), root / name, dataset=data)
    return root


def test_missing_artifact_is_one_error_line(tmp_path):
    result = run_cli("serve", tmp_path / "nope", timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and "no such artifact directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_artifact_outside_the_root_is_refused(arts, tmp_path):
    result = run_cli("serve", arts / "a", "--artifact-root", tmp_path, timeout=120)
    assert result.returncode == 2 and "is not under --artifact-root" in result.stderr
    bad = run_cli("serve", arts / "a", "--retrieval", "fast", timeout=120)
    assert bad.returncode == 2 and "--retrieval='fast'" in bad.stderr


def run_cli(*args: object, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reelrec", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_workers_serve_and_follow_a_reload(arts, tmp_path):
    port = free_port()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reelrec", "serve", str(arts / "a"), "--port", str(port), "--workers", "2",
         "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(scratch)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        pids: set[int] = set()
        health_calls = 0
        # New connections land on either worker; wait until both answer.
        while len(pids) < 2:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "both workers did not come up"
            try:
                pids.add(httpx.get(f"{url}/health", timeout=5).json()["pid"])
                health_calls += 1
            except httpx.HTTPError:
                time.sleep(0.2)
        want_b = read_manifest(arts / "b")["artifact_id"]
        r = httpx.post(f"{url}/v1/admin/reload", json={"path": "b"}, timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["artifact_id"] == want_b
        serving: dict[int, str] = {}
        deadline = time.monotonic() + 30
        while len(serving) < 2 or set(serving.values()) != {want_b}:
            assert time.monotonic() < deadline, f"workers did not follow the reload: {serving}"
            health = httpx.get(f"{url}/health", timeout=5).json()
            health_calls += 1
            serving[health["pid"]] = health["artifact_id"]
            time.sleep(0.05)
        recs = httpx.get(f"{url}/v1/users/100/recommendations", params={"k": 3}, timeout=5).json()
        assert recs["artifact_id"] == want_b and len(recs["items"]) == 3
        # Either worker's scrape reports both workers' requests (pooled metrics) and both live workers.
        text = httpx.get(f"{url}/metrics", timeout=5).text
        assert f'reelrec_requests_total{{method="GET",route="/health",status="200"}} {health_calls}.0' in text
        assert sum(line.startswith("reelrec_process_start_time_seconds{") for line in text.splitlines()) == 2
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert "Traceback" not in err, err
    assert proc.returncode == 0, err
    assert list(scratch.iterdir()) == []  # the reload signal directory is cleaned up
