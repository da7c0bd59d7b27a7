"""The report in a real headless Chromium: loads offline, every image decodes, the page is drawn."""

import io
import shutil

import numpy as np
import pytest
from matplotlib.image import imread

from reelrec.report import SECTION_IDS

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> str:
    """Debian's chromium (what CI installs); Playwright's own browser builds are not used."""
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return found


@pytest.mark.browser
def test_report_renders_in_headless_chromium(report_path, tmp_path):
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda req: requests.append(req.url))
            page.goto(report_path.as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
            )
            sections = page.evaluate("Array.from(document.querySelectorAll('section')).map(s => s.id)")
            visible_height = page.evaluate("document.body.scrollHeight")
            shot = page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert sections == list(SECTION_IDS)
    assert images and all(done and w > 100 and h > 100 for done, w, h in images)
    # Nothing but the file itself and its inline images may be fetched.
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    pixels = imread(io.BytesIO(shot), format="png")
    assert pixels.shape[0] >= min(visible_height, 4000) * 0.9
    assert float(np.std(pixels[..., :3])) > 0.05  # not a blank page
