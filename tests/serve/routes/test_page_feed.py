"""The feed simulator at ``/`` in headless Chromium: reactions re-rank the feed, with reasons (browser mark).

The model is ItemKNN: it folds a session into its ranking and names similar videos. The page's flow runs on
small synthetic KuaiRec data (videos with tags). The tag-share check runs on MovieLens-100K (first genre as
the tag): in the synthetic data, which videos a user is shown does not depend on their tags, so no
co-occurrence model learns tag neighbours there (an item's 10 nearest neighbours share its first tag about
as often as random videos do: 0.10 against 0.10), and watching three videos of a tag cannot raise it.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from reelrec.artifacts import save_artifact
from reelrec.data import Dataset, load_kuairec, load_movielens_100k
from reelrec.models import Recommender, create_model
from reelrec.serve import ServeSettings, create_app
from tests.serve.conftest import live_server
from tests.serve.routes.test_page import CHROMIUM_ARGS, png_pixels

pytestmark = pytest.mark.browser
MODEL = "itemknn"


def serve_knn(dataset: Dataset, where: Path) -> Iterator[str]:
    cls = type(create_model(MODEL))
    if cls._score_sessions is Recommender._score_sessions:
        pytest.skip(f"{MODEL} does not fold a session history into its ranking in this build")
    model = cls(**{**cls().get_params(), **cls.fast_params()}).fit(dataset)
    path = save_artifact(model, where / "knn", dataset=dataset)
    with live_server(create_app(ServeSettings(artifact=path))) as url:
        yield url


@pytest.fixture(scope="module")
def kuairec_url(kuairec_tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_knn(load_kuairec(kuairec_tiny), tmp_path_factory.mktemp("feed-kr"))


@pytest.fixture(scope="module")
def movielens_url(ml100k_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_knn(load_movielens_100k(ml100k_path), tmp_path_factory.mktemp("feed-ml"))


@contextmanager
def open_page(url: str) -> Iterator:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium binary found (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            tab.goto(url + "/")
            tab.wait_for_selector("body[data-ready=true]", timeout=15_000)
            yield tab
            assert errors == []
        finally:
            browser.close()


def feed_rows(page) -> list[dict]:
    """The feed as the page shows it: item id, first tag, reason, per row."""
    out = []
    for row in page.locator("#recs tbody tr").all():
        cells = row.locator("td")
        item, tag, why = row.get_attribute("data-item"), cells.nth(2).inner_text(), cells.nth(5).inner_text()
        out.append({"item": item, "tag": tag, "why": why})
    return out


def wait_feed(page, version: int) -> None:
    # Locator assertions, not wait_for_function: the page's CSP forbids evaluating strings.
    from playwright.sync_api import expect

    expect(page.locator("body")).to_have_attribute("data-feed", str(version), timeout=15_000)


def watch(page, item: str, ratio: str = "1") -> None:
    row = page.locator(f'#recs tbody tr[data-item="{item}"]')
    row.locator("input.ratio").fill(ratio)
    row.locator("button.watch").click()


@pytest.fixture
def page(kuairec_url: str) -> Iterator:
    with open_page(kuairec_url) as tab:
        yield tab


@pytest.fixture
def ml_page(movielens_url: str) -> Iterator:
    with open_page(movielens_url) as tab:
        yield tab


def test_known_user_feed_reacts_with_reasons_and_no_event_store(page, tmp_path):
    page.fill("#user-input", "0")
    page.click("#show-user")
    wait_feed(page, 1)
    before = feed_rows(page)
    assert len(before) == 10 and all(r["why"] == "–" for r in before)
    assert page.locator("#history tbody tr").count() > 0
    assert "stay in this page" in page.inner_text("#events-status")  # this service has no /v1/events

    watched = before[3]["item"]
    watch(page, watched)
    wait_feed(page, 2)
    after = feed_rows(page)
    assert len(after) == 10 and watched not in [r["item"] for r in after]
    session = page.locator("#session tbody tr")
    assert session.count() == 1 and session.nth(0).locator("td").nth(0).inner_text() == watched
    reasons = [r["why"] for r in after if r["why"] != "–"]
    assert reasons and all(w.startswith(f"because you watched {watched}") for w in reasons)

    page.locator(f'#recs tbody tr[data-item="{after[0]["item"]}"] button.skip').click()
    wait_feed(page, 3)
    assert page.locator("#session tbody tr").nth(0).locator("td").nth(2).inner_text() == "skipped"
    assert after[0]["item"] not in [r["item"] for r in feed_rows(page)]

    shot = page.screenshot(full_page=True)
    (tmp_path / "feed.png").write_bytes(shot)
    pixels = png_pixels((tmp_path / "feed.png").read_bytes())
    assert pixels.shape[1] == 1280 and pixels.shape[0] >= 900
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50


@pytest.mark.parametrize("who", ["first known user", "new user"])
def test_watching_three_videos_of_a_tag_raises_its_share(ml_page, who):
    page = ml_page
    page.fill("#k-input", "50")
    if who == "new user":
        page.click("#new-user")
    else:
        page.fill("#user-input", page.locator("#user-list option").first.get_attribute("value"))
        page.click("#show-user")
    wait_feed(page, 1)
    rows = feed_rows(page)
    top = Counter(r["tag"] for r in rows[:10])
    rest = Counter(r["tag"] for r in rows[10:] if r["tag"])
    # The tag the top 10 shows least among those with three videos further down (ties: the most videos).
    tag = min((t for t, n in rest.items() if n >= 3), key=lambda t: (top[t], -rest[t]))
    watched: list[str] = []
    for version in (2, 3, 4):
        rows = feed_rows(page)
        pick = [r["item"] for r in rows[10:] if r["tag"] == tag] or [r["item"] for r in rows if r["tag"] == tag]
        assert pick, f"no video of tag {tag} left in the feed after {watched}"
        watch(page, pick[0], "1")  # watched to the end
        watched.append(pick[0])
        wait_feed(page, version)
    rows = feed_rows(page)
    assert not set(watched) & {r["item"] for r in rows}
    share_after = sum(r["tag"] == tag for r in rows[:10])
    assert share_after > top[tag], (tag, top[tag], share_after)
    assert any(r["why"].startswith("because you watched ") and r["why"].split()[3] in watched for r in rows[:10])
    assert page.locator("#session tbody tr").count() == 3
