"""``reelrec synth --world plays``: a play-count log in the generic layout that the loader reads back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from reelrec.cli import app, main
from reelrec.data import load_dataset
from reelrec.models._hybrid_parts import detect_label_kind
from reelrec.synth._plays import plays_world, write_plays


def test_plays_cli_writes_the_generic_layout_and_it_loads(tmp_path: Path) -> None:
    out = tmp_path / "plays"
    args = ["synth", str(out), "--world", "plays", "--scale", "0.003", "--seed", "2", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert sorted(p.name for p in out.iterdir()) == ["interactions.csv", "items.csv", "schema.json", "users.csv"]
    ds = load_dataset(out)
    assert len(ds.interactions) == summary["rows"]["interactions"] > 1000
    assert ds.n_users == summary["n_users"]
    label = ds.interactions.label
    assert label.min() >= 1 and np.all(label == np.round(label))
    assert np.quantile(label, 0.99) > 5 * np.median(label)  # heavy-tailed replays
    assert detect_label_kind(ds) == "count"
    assert ds.item_features is not None and ds.item_features.kinds["tags"] == "multi"
    assert ds.user_features is not None and set(ds.user_features.kinds) == {"age_group", "region", "activity"}


def test_plays_are_reproducible_and_seeded() -> None:
    a, b, c = plays_world(200, 300, seed=1), plays_world(200, 300, seed=1), plays_world(200, 300, seed=2)
    np.testing.assert_array_equal(a.interactions.item, b.interactions.item)
    np.testing.assert_array_equal(a.interactions.label, b.interactions.label)
    assert len(a.interactions) != len(c.interactions) or not np.array_equal(a.interactions.item, c.interactions.item)


def test_bad_world_and_seed_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", str(tmp_path / "x"), "--world", "clicks", "--scale", "0.003"])
    assert exit_info.value.code == 2
    assert "--world 'clicks'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="seed=-1"):
        write_plays(tmp_path / "y", scale=0.003, seed=-1)
    with pytest.raises(ValueError, match="scale=0"):
        write_plays(tmp_path / "z", scale=0.0)
