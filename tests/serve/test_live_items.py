"""New videos over a real server with the notebook preset: registered, persisted, recommended, similar."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reelrec.artifacts import save_artifact
from reelrec.data import Dataset
from reelrec.events import EventStore
from reelrec.models import model_class
from reelrec.serve import ServeSettings, create_app
from tests.serve.conftest import live_server


@pytest.fixture(scope="module")
def notebook_art(tmp_path_factory: pytest.TempPathFactory, toy: Dataset) -> Path:
    cls = model_class("notebook")
    model = cls(embedding_size=8, hidden=[16], epochs=1, batch_size=256, progress=False, device="cpu").fit(toy)
    path = tmp_path_factory.mktemp("nb") / "arts" / "nb"
    save_artifact(model, path, dataset=toy)
    return path


def features_of(toy: Dataset, row: int) -> dict[str, object]:
    assert toy.item_features is not None
    return dict(toy.item_features.frame.row(row, named=True))


def test_posted_videos_are_recommended_similar_and_survive_a_restart(notebook_art, toy, tmp_path):
    store = tmp_path / "feed.db"
    settings = ServeSettings(artifact=notebook_art, events=store)
    # The user whose best video is X; a new video with X's features scores exactly as X does.
    with live_server(create_app(settings)) as url, httpx.Client(base_url=url, timeout=30) as c:
        user = int(toy.users.raw_ids[7])
        best = c.get(f"/v1/users/{user}/recommendations", params={"k": 1}).json()["items"][0]["item_id"]
        row = int(toy.items.index([best])[0])
        r = c.post("/v1/items", json={"items": [{"item_id": 990001, "features": features_of(toy, row)}]})
        assert r.status_code == 200, r.text
        assert r.json() == {"count": 1, "item_ids": [990001], "n_items": toy.n_items + 1, "live_items": 1}
        top2 = [x["item_id"] for x in c.get(f"/v1/users/{user}/recommendations", params={"k": 2}).json()["items"]]
        assert set(top2) == {best, 990001}
        similar = c.get(f"/v1/items/{best}/similar", params={"k": 1}).json()["items"]
        assert similar[0]["item_id"] == 990001 and similar[0]["score"] == pytest.approx(1.0, abs=1e-5)
        assert c.get("/v1/items/990001/similar", params={"k": 1}).json()["items"][0]["item_id"] == best
        assert c.get("/health").json()["live_items"] == 1
        # The new video can be watched at once; then it leaves that user's ranking.
        ev = {"user_id": user, "item_id": 990001, "watch_ratio": 2.0}
        assert c.post("/v1/events", json={"events": [ev]}).status_code == 200
        after = [x["item_id"] for x in c.get(f"/v1/users/{user}/recommendations", params={"k": 2}).json()["items"]]
        assert 990001 not in after and best in after
    rows = EventStore(store).items()
    assert [r.item_id for r in rows] == ["990001"]
    # A fresh server on the same store takes the video in again before serving.
    with live_server(create_app(settings)) as url:
        health = httpx.get(f"{url}/health").json()
        assert health["live_items"] == 1 and health["n_items"] == toy.n_items + 1
        assert httpx.get(f"{url}/v1/items/990001/similar", params={"k": 1}).json()["items"][0]["item_id"] == best


@pytest.mark.parametrize(
    ("item", "loc"),
    [
        ({"item_id": 990010, "features": {"colour": "red"}}, ["body", "items", 0, "features", "colour"]),
        ({"item_id": 990010, "features": {"duration": "long"}}, ["body", "items", 0, "features", "duration"]),
        ({"item_id": 990010, "features": {"tags": "1,2"}}, ["body", "items", 0, "features", "tags"]),
        ({"item_id": "not-an-int", "features": {}}, ["body", "items", 0, "item_id"]),
        ({"features": {}}, ["body", "items", 0, "item_id"]),
    ],
)
def test_bad_videos_are_refused_naming_the_column(notebook_art, toy, tmp_path, item, loc):
    settings = ServeSettings(artifact=notebook_art, events=tmp_path / "feed.db")
    with live_server(create_app(settings)) as url:
        r = httpx.post(f"{url}/v1/items", json={"items": [item]})
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == loc
        known = int(toy.items.raw_ids[0])
        r = httpx.post(f"{url}/v1/items", json={"items": [{"item_id": known, "features": {}}]})
        assert r.status_code == 422 and "already in the catalogue" in r.json()["detail"][0]["msg"]
    assert EventStore(tmp_path / "feed.db").items() == []


def test_a_stored_video_the_model_cannot_take_is_skipped_not_fatal(notebook_art, toy, tmp_path):
    store = EventStore(tmp_path / "feed.db")
    good = features_of(toy, 2)
    assert store.add_items([("990020", {"colour": "red"}), ("990021", good)]) == []
    store.close()
    settings = ServeSettings(artifact=notebook_art, events=tmp_path / "feed.db")
    with live_server(create_app(settings)) as url:
        health = httpx.get(f"{url}/health").json()
        assert health["status"] == "ok" and health["live_items"] == 1  # the bad one is skipped, not the other
        assert httpx.get(f"{url}/v1/items/990021/similar", params={"k": 1}).status_code == 200
        assert httpx.get(f"{url}/v1/items/990020").status_code == 404
        user = int(toy.users.raw_ids[0])
        assert httpx.get(f"{url}/v1/users/{user}/recommendations").status_code == 200
        r = httpx.post(f"{url}/v1/items", json={"items": [{"item_id": 990022, "features": good}]})
        assert r.status_code == 200 and r.json()["live_items"] == 2
