"""Same seed, same model: two `reelrec train` runs give bit-identical artifacts, for every registered model.

The rule (docs/models.md, "Reproducibility"): on the CPU, on one machine, with the same thread count,
every learned byte is identical (``weights.safetensors``, ids, history, item table), and so is every
JSON file once the documented run facts are set aside: durations (any key ending in ``seconds``), the
manifest's ``created`` time, ``artifact_id`` and the digests of the JSON files that hold durations,
and ``dataset.json``'s ``cache`` (whether the parsed-data cache already existed).

Runs use two torch threads, so the CPU kernels that parallelise (and could accumulate in a varying
order) are exercised even on a one-core machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from reelrec.models import available_models, model_class
from reelrec.synth import write_kuairec
from tests.cli.helpers import run_cli

pytestmark = pytest.mark.slow

#: JSON files whose digests in the manifest may differ because the files hold durations.
_JSON_WITH_DURATIONS = ("metrics.json", "model.json", "dataset.json")

#: Per-model changes to ``fast_params``: batches of thousands of rows, so a step's gathers and their
#: gradients are large enough for torch to parallelise them (the source of the drift this guards), and
#: few steps, so the test stays cheap.
_EXTRA: dict[str, dict[str, Any]] = {
    "two-tower": {"batch_size": 4096, "epochs": 2},
    "seed": {"batch_size": 4096, "epochs": 2},
}


@pytest.fixture(scope="module")
def kuairec_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("repro") / "kuairec"
    write_kuairec(path, scale=0.003, seed=0)
    return path


def _train(data: Path, out: Path, name: str) -> None:
    params = {**model_class(name).fast_params(), **_EXTRA.get(name, {})}
    sets = [arg for key, value in params.items() for arg in ("--set", f"params.{key}={json.dumps(value)}")]
    env = {**os.environ, "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    args = ["train", data, "--out", out, "--model", name, "--seed", "7", "--device", "cpu", "--quiet", *sets]
    proc = run_cli(*args, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr


def _without_run_facts(name: str, obj: Any) -> Any:
    """``obj`` (a file's JSON) without the documented run facts: durations, creation time, ids, cache."""
    if isinstance(obj, dict):
        drop = {k for k in obj if k.endswith("seconds")}
        if name == "manifest.json":
            drop |= {"created", "artifact_id"}
        if name == "dataset.json":
            drop.add("cache")
        out = {k: _without_run_facts(name, v) for k, v in obj.items() if k not in drop}
        if name == "manifest.json" and isinstance(out.get("files"), dict):
            out["files"] = {k: v for k, v in out["files"].items() if k not in _JSON_WITH_DURATIONS}
        return out
    if isinstance(obj, list):
        return [_without_run_facts(name, v) for v in obj]
    return obj


@pytest.mark.parametrize("name", available_models())
def test_same_seed_gives_a_bit_identical_artifact(name, kuairec_dir, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    _train(kuairec_dir, first, name)
    _train(kuairec_dir, second, name)
    # Learned files first (a differing weight names the weights file, not the manifest's digest of it).
    files = sorted((p.name for p in first.iterdir()), key=lambda f: (f.endswith(".json"), f))
    assert sorted(files) == sorted(p.name for p in second.iterdir())
    assert "weights.safetensors" in files
    for file in files:
        a, b = (first / file).read_bytes(), (second / file).read_bytes()
        if not file.endswith(".json"):
            assert a == b, f"{name}: {file} differs between two runs with the same seed"
            continue
        left, right = json.loads(a), json.loads(b)
        assert _without_run_facts(file, left) == _without_run_facts(file, right), f"{name}: {file} differs"
    # The manifest still vouches for the weights: their digest is part of what must match.
    manifest = json.loads((first / "manifest.json").read_text())
    assert "weights.safetensors" in _without_run_facts("manifest.json", manifest)["files"]


def test_run_facts_are_only_what_the_rule_names():
    """The filter drops durations, creation time, artifact id and cache state, and nothing else."""
    manifest = {
        "created": "t",
        "artifact_id": "a",
        "model": "mf",
        "files": {"weights.safetensors": "w", "metrics.json": "m"},
    }
    assert _without_run_facts("manifest.json", manifest) == {"model": "mf", "files": {"weights.safetensors": "w"}}
    metrics = {"fit_seconds": 1.0, "history": [{"epoch": 1, "seconds": 2.0, "val_loss": 0.5}], "cache": "hit"}
    assert _without_run_facts("metrics.json", metrics) == {"history": [{"epoch": 1, "val_loss": 0.5}], "cache": "hit"}
    assert _without_run_facts("dataset.json", {"cache": "miss", "n_rows": 3}) == {"n_rows": 3}
