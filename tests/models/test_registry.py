"""Model registry: the notebook preset's name and its former alias ``seed`` (issue 13)."""

import hashlib
import json

import pytest

from reelrec.artifacts import load_artifact
from reelrec.config import RunConfig
from reelrec.models import available_models, canonical_name, create_model, model_class
from reelrec.models._seed import SeedTwoTower


def test_notebook_is_listed_and_seed_is_only_an_alias():
    assert "notebook" in available_models()
    assert "seed" not in available_models()
    assert canonical_name("seed") == canonical_name("notebook") == "notebook"
    assert model_class("seed") is model_class("notebook") is SeedTwoTower
    model = create_model("seed", seed=3)  # the argument no longer reads like the model's name
    assert model.name == "notebook" and model.get_params()["seed"] == 3


def test_unknown_names_list_the_registered_ones():
    with pytest.raises(ValueError, match=r"unknown model 'sead'.*notebook"):
        model_class("sead")
    assert RunConfig(model="seed").model == "seed"  # configs written with the old name still validate
    with pytest.raises(ValueError, match="unknown model"):
        RunConfig(model="sead")


def test_artifacts_saved_under_either_name_load(toy_dataset, tmp_path):
    fitted = create_model("notebook", epochs=1, progress=False).fit(toy_dataset)
    fitted.save(tmp_path / "new")
    assert json.loads((tmp_path / "new" / "model.json").read_text())["name"] == "notebook"
    # An artifact written before the rename names the model `seed`.
    fitted.save(tmp_path / "old")
    spec_path = tmp_path / "old" / "model.json"
    spec_path.write_text(json.dumps({**json.loads(spec_path.read_text()), "name": "seed"}))
    manifest_path = tmp_path / "old" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["model.json"] = hashlib.sha256(spec_path.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    users = fitted.users_.raw_ids[:3]
    for name in ("new", "old"):
        loaded = load_artifact(tmp_path / name, model_class).model
        assert isinstance(loaded, SeedTwoTower)
        assert (loaded.recommend(users, k=5)[0] == fitted.recommend(users, k=5)[0]).all()
