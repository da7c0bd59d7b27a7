"""``GET /``: the feed simulator page; in headless Chromium when one is installed (browser mark)."""

from __future__ import annotations

import re
import shutil
import struct
import zlib

import numpy as np
import pytest

from reelrec.serve import ServeSettings, create_app
from tests.serve.conftest import live_server

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def test_page_and_assets_are_served_with_a_strict_policy(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    html = r.text
    assert 'id="user-input"' in html and 'id="cold-fields"' in html and 'id="recs"' in html
    assert "http://" not in html and "https://" not in html  # no CDN, nothing external
    for asset in ("/static/app.js", "/static/style.css"):
        body = client.get(asset)
        assert body.status_code == 200 and "https://" not in body.text
    assert client.get("/static/../app.py").status_code == 404
    # Interactive docs would load scripts from a CDN, so they are off; the schema stays available.
    assert client.get("/docs").status_code == 404 and client.get("/openapi.json").status_code == 200


def png_pixels(data: bytes) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes) into an array, without extra dependencies."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    out = np.zeros((height, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    for y in range(height):
        f, line = raw[y * (stride + 1)], np.frombuffer(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)], np.uint8)
        cur = line.astype(np.int32)
        if f == 2:
            cur = (cur + prev) % 256
        elif f in (1, 3, 4):
            for x in range(stride):
                a = cur[x - channels] if x >= channels else 0
                b, c = prev[x], prev[x - channels] if x >= channels else 0
                if f == 1:
                    pred = a
                elif f == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[x] = (cur[x] + pred) % 256
        out[y], prev = cur, cur
    return out.reshape(height, width, channels)[:, :, :3]


@pytest.mark.browser
def test_page_in_headless_chromium(artifact_root, toy, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium binary found (apt-get install chromium)")
    settings = ServeSettings(artifact=artifact_root / "a")
    expect = sync_api.expect
    with live_server(create_app(settings)) as url, sync_api.sync_playwright() as pw:
        import httpx

        body = {"user_id": 103, "k": 5, "details": True, "exclude_seen": True, "history": []}
        expected = httpx.post(f"{url}/v1/recommendations", json=body).json()
        history = httpx.get(f"{url}/v1/users/103/history", params={"limit": 20}).json()
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url + "/")
            page.wait_for_selector("body[data-ready=true]", timeout=15_000)
            assert "popularity" in page.inner_text("#model-info")

            page.fill("#k-input", "5")
            page.fill("#user-input", "103")
            page.click("#show-user")
            rows = page.locator("#recs tbody tr")
            # Locator assertions, not wait_for_function: the page's CSP forbids evaluating strings.
            expect(rows).to_have_count(5, timeout=15_000)
            shown = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(5)]
            assert shown == [str(it["item_id"]) for it in expected["items"]]
            tag = rows.nth(0).locator("td").nth(2).inner_text()
            assert tag == str(expected["items"][0]["features"]["tags"][0])
            hist_rows = page.locator("#history tbody tr")
            assert hist_rows.count() == len(history["items"]) > 0
            first = hist_rows.nth(0).locator("td")
            assert first.nth(0).inner_text() == str(history["items"][0]["item_id"])
            assert first.nth(2).inner_text() == f"{history['items'][0]['label']:.3f}"

            page.click("#new-user-box summary")
            page.fill("#cold-fields input[name=activity]", "high")
            page.fill("#cold-fields input[name=age]", "30")
            page.click("#new-user")
            expect(page.locator("#feed-who")).to_have_text("for a new user", timeout=15_000)
            expect(rows).to_have_count(5, timeout=15_000)

            shot = page.screenshot(full_page=True)
            (tmp_path / "page.png").write_bytes(shot)

            page.fill("#user-input", "999999")
            page.click("#show-user")
            expect(page.locator("#status")).to_have_class(re.compile("error"), timeout=15_000)
            assert "404" in page.inner_text("#status") and page.locator("#recs tbody tr").count() == 0
            assert errors == []
        finally:
            browser.close()
    pixels = png_pixels(shot)
    assert pixels.shape[1] == 1200 and pixels.shape[0] >= 900
    # A real rendering: many distinct colours and the accent colour of the header somewhere.
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    assert (np.abs(pixels - np.array([0xE4, 0x57, 0x2E])).sum(axis=2) < 30).any()
