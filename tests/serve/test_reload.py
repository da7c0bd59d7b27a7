"""Reload: root confinement, failures keep the old model, and workers follow each other's reloads."""

from __future__ import annotations

import asyncio
import os
import shutil

import pytest

from reelrec.serve import ServeSettings, load_state
from reelrec.serve.metrics import Metrics
from reelrec.serve.reload import Reloader, ReloadError, ReloadSignal, resolve_under_root
from reelrec.serve.state import ModelHolder


@pytest.mark.parametrize(
    ("requested", "status"),
    [("/etc", 422), ("../x", 422), ("a/../../x", 422), ("~/x", 422), ("a\\..\\x", 422), ("a\x00", 422)],
)
def test_escapes_are_refused(tmp_path, requested, status):
    with pytest.raises(ReloadError) as info:
        resolve_under_root(tmp_path.resolve(), requested)
    assert info.value.status == status


def test_symlink_out_of_the_root_is_refused(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    os.symlink(outside, root / "link")
    with pytest.raises(ReloadError, match="outside the artifact root") as info:
        resolve_under_root(root.resolve(), "link")
    assert info.value.status == 403
    assert resolve_under_root(root.resolve(), "sub/art") == root.resolve() / "sub" / "art"


def test_signal_round_trip(tmp_path):
    sig = ReloadSignal(tmp_path / "reload.json")
    assert sig.token() is None and sig.read() is None
    sig.publish("a", "id1")
    first = sig.token()
    sig.publish("b", "id2")
    assert sig.token() != first and sig.read() == {"path": "b", "artifact_id": "id2"}
    (tmp_path / "reload.json").write_text("{broken")
    assert sig.read() is None


def reloader_for(root, start="a", signal=None):
    settings = ServeSettings(artifact=root / start, reload_signal=signal, reload_poll_seconds=0.05)
    metrics = Metrics()
    return Reloader(ModelHolder(load_state(root / start, settings)), settings, metrics), metrics


def test_reload_swaps_and_failures_keep_the_old_model(tmp_path, artifact_root):
    root = tmp_path / "arts"
    shutil.copytree(artifact_root, root)
    reloader, metrics = reloader_for(root)
    first = reloader.holder.current

    old, new, rel = asyncio.run(reloader.reload("b"))
    assert old is first and reloader.holder.current is new and rel == "b"
    assert new.artifact_id != first.artifact_id

    # Corrupt artifact: 422 naming the file, without the server's absolute path; "b" keeps serving.
    shutil.copytree(root / "a", root / "broken")
    with (root / "broken" / "weights.safetensors").open("ab") as fh:
        fh.write(b"junk")
    with pytest.raises(ReloadError, match="checksum mismatch") as info:
        asyncio.run(reloader.reload("broken"))
    assert info.value.status == 422 and str(root) not in info.value.message
    (root / "notart").mkdir()
    with pytest.raises(ReloadError, match=r"manifest\.json is missing"):
        asyncio.run(reloader.reload("notart"))
    with pytest.raises(ReloadError) as missing:
        asyncio.run(reloader.reload("gone"))
    assert missing.value.status == 404
    assert reloader.holder.current is new
    assert metrics.reloads == {"ok": 1, "failed": 3}

    # No path: reload the current artifact again (e.g. after retraining wrote it in place).
    _, again, rel = asyncio.run(reloader.reload(None))
    assert rel == "b" and again.artifact_id == new.artifact_id and again is not new


def test_workers_follow_a_reload_published_by_another(tmp_path, artifact_root):
    signal = tmp_path / "reload.json"
    w1, _ = reloader_for(artifact_root, signal=signal)
    w2, m2 = reloader_for(artifact_root, signal=signal)

    async def scenario():
        follower = asyncio.create_task(w2.follow())
        await asyncio.sleep(0.1)
        _, new, _ = await w1.reload("b")
        for _ in range(100):
            if w2.holder.current.artifact_id == new.artifact_id:
                break
            await asyncio.sleep(0.05)
        follower.cancel()
        return new

    new = asyncio.run(scenario())
    assert w2.holder.current.artifact_id == new.artifact_id and m2.reloads["ok"] == 1
