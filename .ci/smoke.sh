#!/usr/bin/env bash
# Wheel smoke test: build the wheel, install it into a fresh virtual environment (not editable, torch
# first from constraints.txt) with the [serve] extra, then, from outside the source tree, run the demo at
# a tiny scale and the service: /health answers, and the page and a static asset come from the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
python=${PYTHON:-python3}
work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill -INT "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "smoke: building the wheel"
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$repo"
wheel=$(ls "$work"/dist/reelrec-*.whl)

echo "smoke: installing $(basename "$wheel")[serve] into a fresh venv"
"$python" -m venv "$work/venv"
venv="$work/venv/bin"
"$venv/pip" install --quiet -c "$repo/constraints.txt" torch
"$venv/pip" install --quiet -c "$repo/constraints.txt" "${wheel}[serve]"

cd "$work"  # away from the checkout: only the installed package can be imported
"$venv/python" - <<'PY'
import pathlib, reelrec, reelrec.serve.routes.page as page
installed = pathlib.Path(reelrec.__file__).resolve()
assert "site-packages" in installed.parts, f"reelrec imported from {installed}, not the wheel"
assert (installed.parent / "py.typed").is_file(), "py.typed missing from the wheel"
assert (page.STATIC_DIR / "index.html").is_file(), f"static files missing under {page.STATIC_DIR}"
print(f"smoke: reelrec {reelrec.__version__} from {installed.parent}")
PY

echo "smoke: reelrec demo at a tiny scale"
"$venv/reelrec" demo --scale 0.003 --out demo --quiet --threads 1 >demo.log 2>&1 || { cat demo.log; exit 1; }
test -f demo/artifact/manifest.json

port=$("$venv/python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
echo "smoke: reelrec serve on 127.0.0.1:$port"
"$venv/reelrec" serve demo/artifact --host 127.0.0.1 --port "$port" --log-level warning >serve.log 2>&1 &
server=$!
"$venv/python" - "$port" <<'PY' || { cat serve.log; exit 1; }
import json, sys, time, urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"
deadline = time.monotonic() + 300  # generous: a cold start imports torch from a fresh venv
while True:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=5) as r:
            health = json.load(r)
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("smoke: the service did not answer /health within 300 s")
        time.sleep(0.5)
assert health["status"] == "ok", health
for path, kind in (("/", "text/html"), ("/static/app.js", "javascript"), ("/static/style.css", "text/css")):
    with urllib.request.urlopen(base + path, timeout=5) as r:
        body = r.read()
        assert r.status == 200 and kind in r.headers["content-type"] and body, (path, r.headers["content-type"])
print(f"smoke: /health ok ({health['model']}), page and static assets served")
PY
kill -INT "$server"
wait "$server" || { echo "smoke: reelrec serve exited with status $?"; cat serve.log; exit 1; }
server=""
echo "smoke: passed"
