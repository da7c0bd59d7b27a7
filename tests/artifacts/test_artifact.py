"""Artifacts: atomic writes, checksums, clear errors, identical scores after a round trip."""

import json

import numpy as np
import pytest

from reelrec.artifacts import load_artifact, save_artifact
from reelrec.errors import ArtifactError
from reelrec.models import create_model, model_class


@pytest.fixture
def fitted(toy_dataset):
    return create_model("popularity").fit(toy_dataset)


def test_round_trip_keeps_recommendations(tmp_path, fitted, toy_dataset):
    save_artifact(fitted, tmp_path / "art", dataset=toy_dataset, metrics={"ndcg@10": 0.5})
    art = load_artifact(tmp_path / "art", model_class)
    users = np.arange(toy_dataset.n_users)
    a = fitted.recommend_indices(users, k=10)
    b = art.model.recommend_indices(users, k=10)
    assert np.array_equal(a[0], b[0]) and np.allclose(a[1], b[1])
    assert art.metrics == {"ndcg@10": 0.5}
    assert art.history is not None and art.history.indptr[-1] > 0


def test_overwrite_replaces_previous_artifact_without_leftovers(tmp_path, fitted):
    save_artifact(fitted, tmp_path / "art")
    first = json.loads((tmp_path / "art" / "manifest.json").read_text())["artifact_id"]
    save_artifact(fitted, tmp_path / "art")
    second = json.loads((tmp_path / "art" / "manifest.json").read_text())["artifact_id"]
    assert first != second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]


def test_refuses_to_overwrite_a_foreign_directory(tmp_path, fitted):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("precious")
    with pytest.raises(ArtifactError, match="not a reelrec artifact"):
        save_artifact(fitted, tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.txt").read_text() == "precious"


def test_corrupt_file_is_reported(tmp_path, fitted):
    save_artifact(fitted, tmp_path / "art")
    with (tmp_path / "art" / "weights.safetensors").open("ab") as fh:
        fh.write(b"x")
    with pytest.raises(ArtifactError, match="checksum mismatch"):
        load_artifact(tmp_path / "art", model_class)


def test_unsupported_version_and_missing_dir(tmp_path, fitted):
    with pytest.raises(ArtifactError, match="no such artifact"):
        load_artifact(tmp_path / "nope", model_class)
    save_artifact(fitted, tmp_path / "art")
    manifest = json.loads((tmp_path / "art" / "manifest.json").read_text())
    manifest["format_version"] = 99
    (tmp_path / "art" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="format_version 99"):
        load_artifact(tmp_path / "art", model_class)
