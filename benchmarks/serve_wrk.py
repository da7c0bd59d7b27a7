"""HTTP load test of the real-time feed with a real load generator (``wrk``), server and client pinned apart.

Usage::

    python benchmarks/serve_wrk.py [--artifact DIR | --data DIR] [--model NAME] [--workers 1]
                                   [--duration 30] [--repeats 3] [--connections 16]
                                   [--server-cpus 0] [--client-cpus 1] [--out FILE]

Three scenarios, each ``--repeats`` runs of ``--duration`` seconds (medians reported):

1. ``GET /v1/users/{id}/recommendations?k=10`` for uniformly drawn known users, while a second
   ``wrk`` connection posts watch events for a fixed 10 % of the users (so the state of those users
   keeps changing and no per-user answer cache can stand in for scoring);
2. ``POST /v1/recommendations`` with a 20-view history of uniformly drawn videos for a known user;
3. ``POST /v1/events`` with batches of 100 events (each acknowledged after its COMMIT).

The server is the real ``reelrec serve`` (an event store in a temporary folder) pinned to
``--server-cpus``; both ``wrk`` processes are pinned to ``--client-cpus``. ``wrk`` is a C program
(Debian package ``wrk``): unlike a Python client it leaves the server's core alone. Latency
percentiles come from wrk's own histogram (its Lua ``done`` hook prints them as JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from reelrec.artifacts import load_artifact
from reelrec.models import DEFAULT_MODEL, model_class
from serve import N_ROWS, free_port, prepare_artifact, wait_ready  # the artifact and server helpers

#: Lua shared by every scenario: ids to draw from and a JSON summary at the end.
LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def lua_list(name: str, values: list[Any]) -> str:
    """A Lua array literal of JSON-encoded ids (numbers stay numbers, strings get quotes)."""
    return f"{name} = {{" + ",".join(json.dumps(json.dumps(v)) for v in values) + "}\n"


def get_script(users: list[Any]) -> str:
    return lua_list("users", users) + r"""
math.randomseed(1)
request = function()
  local u = users[math.random(#users)]
  return wrk.format("GET", "/v1/users/" .. string.gsub(u, '"', '') .. "/recommendations?k=10")
end
""" + LUA_DONE


def history_script(users: list[Any], items: list[Any], length: int = 20) -> str:
    return lua_list("users", users) + lua_list("items", items) + f"HISTORY = {length}\n" + r"""
math.randomseed(2)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local views = {}
  for i = 1, HISTORY do
    views[i] = '{"item_id": ' .. items[math.random(#items)] .. ', "watch_ratio": ' ..
               string.format("%.2f", math.random() * 2) .. '}'
  end
  local body = '{"user_id": ' .. users[math.random(#users)] .. ', "k": 10, "history": [' ..
               table.concat(views, ",") .. ']}'
  return wrk.format(nil, "/v1/recommendations", nil, body)
end
""" + LUA_DONE


def events_script(users: list[Any], items: list[Any], batch: int, delay_ms: int = 0) -> str:
    pause = f"delay = function() return {delay_ms} end\n" if delay_ms else ""
    return lua_list("users", users) + lua_list("items", items) + f"BATCH = {batch}\n" + pause + r"""
math.randomseed(3)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local events = {}
  for i = 1, BATCH do
    events[i] = '{"user_id": ' .. users[math.random(#users)] .. ', "item_id": ' ..
                items[math.random(#items)] .. ', "watch_ratio": ' ..
                string.format("%.2f", math.random() * 2) .. '}'
  end
  return wrk.format(nil, "/v1/events", nil, '{"events": [' .. table.concat(events, ",") .. ']}')
end
""" + LUA_DONE


def run_wrk(
    port: int, script: Path, duration: float, connections: int, cpus: str | None
) -> subprocess.Popen[str]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s", "--timeout", "5s", "-s", str(script),
           f"http://127.0.0.1:{port}"]
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_result(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate()
    line = next((ln for ln in out.splitlines() if ln.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    r = json.loads(line)
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return {
        "rps": round(r["requests"] / (r["duration_us"] / 1e6), 1),
        "p50_ms": round(r["p50_us"] / 1e3, 2),
        "p99_ms": round(r["p99_us"] / 1e3, 2),
        "max_ms": round(r["max_us"] / 1e3, 2),
        "errors": errors,
        "requests": r["requests"],
    }


def start_server(
    artifact: Path, store: Path | None, port: int, workers: int, cpus: str | None, log: Path
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "reelrec", "serve", str(artifact), "--port", str(port), "--workers",
           str(workers), "--log-level", "warning"]
    if store is not None:
        cmd += ["--events", str(store)]
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    with log.open("wb") as fh:
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("rps", "p50_ms", "p99_ms", "max_ms")
    out: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in keys}
    out["errors"] = sum(r["errors"] for r in runs)
    out["runs"] = runs
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifact", help="Serve this trained artifact.")
    parser.add_argument("--data", help="Train the --model artifact on this data folder.")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rows", type=int, default=N_ROWS)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--server-cpus", default="0", help="Cores for the server (taskset list), e.g. 0.")
    parser.add_argument("--client-cpus", default="1", help="Cores for both wrk processes, e.g. 1.")
    parser.add_argument("--scenarios", default="get,history,events")
    parser.add_argument("--no-store", action="store_true", help="Serve without an event store (GET only).")
    parser.add_argument("--out", help="Also write the JSON result here.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("error: wrk is not installed (Debian package 'wrk')")

    with tempfile.TemporaryDirectory(prefix="reelrec-wrk-") as tmp_name:
        tmp = Path(tmp_name)
        artifact, described = prepare_artifact(args, tmp)
        art = load_artifact(artifact, model_class)
        users, items = art.model.users_.to_list(), art.model.items_.to_list()
        model_name = art.manifest["model"]
        del art
        tenth = users[:: 10]
        scripts = {
            "get": get_script(users),
            "history": history_script(users, items),
            "events": events_script(users, items, batch=100),
            "background": events_script(tenth, items, batch=10, delay_ms=50),
        }
        for name, text in scripts.items():
            (tmp / f"{name}.lua").write_text(text)
        port = free_port()
        log = tmp / "server.log"
        store = None if args.no_store else tmp / "events.db"
        proc = start_server(artifact, store, port, args.workers, args.server_cpus, log)
        results: dict[str, Any] = {}
        try:
            asyncio.run(wait_ready(port, proc, log))
            for scenario in args.scenarios.split(","):
                runs = []
                for _ in range(args.repeats):
                    background = None
                    if scenario == "get" and not args.no_store:
                        background = run_wrk(port, tmp / "background.lua", args.duration, 1, args.client_cpus)
                    main_run = run_wrk(port, tmp / f"{scenario}.lua", args.duration, args.connections, args.client_cpus)
                    runs.append(wrk_result(main_run))
                    if background is not None:
                        runs[-1]["background_events"] = wrk_result(background)
                    time.sleep(1)
                results[scenario] = median_of(runs)
                print(f"{scenario}: {json.dumps({k: v for k, v in results[scenario].items() if k != 'runs'})}",
                      file=sys.stderr, flush=True)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    if "events" in results:
        results["events"]["events_per_s"] = round(results["events"]["rps"] * 100, 1)
    summary = {
        "model": model_name,
        "artifact": described,
        "workers": args.workers,
        "server_cpus": args.server_cpus,
        "client_cpus": args.client_cpus,
        "connections": args.connections,
        "duration_s": args.duration,
        "repeats": args.repeats,
        "load_average_1m": round(os.getloadavg()[0], 2),
        **results,
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
