"""compare: fits and times each model, shares the split, marks the chosen one, writes tables."""

from __future__ import annotations

import json

import pytest

from reelrec.errors import NotFittedError
from reelrec.eval import compare, holdout_split
from reelrec.models._popularity import Popularity
from tests.conftest import make_toy_dataset
from tests.eval.models import Oracle, UserMean


@pytest.fixture(scope="module")
def holdout():
    return holdout_split(make_toy_dataset(n_users=45, n_items=60, per_user=20), seed=0)


def test_compare_fits_times_marks_and_writes(holdout, tmp_path):
    table = compare(
        {"popularity": Popularity(), "oracle": Oracle(holdout.test), "user-mean": UserMean()},
        holdout,
        ks=(10,),
        chosen="user-mean",
    )
    assert all(s is not None and s >= 0 for s in table.fit_seconds.values())
    assert table.best("ndcg@10") == "oracle"
    assert table.best("mae") == "user-mean"  # the only regressor
    text = table.to_markdown()
    assert "**user-mean** (chosen)" in text and "| model | ndcg@10 |" in text
    assert text.count("\n") == 4  # header, rule, one line per model
    path = tmp_path / "comparison.json"
    path.write_text(json.dumps(table.to_rows()))
    rows = json.loads(path.read_text())
    assert [r["model"] for r in rows] == ["popularity", "oracle", "user-mean"]
    assert [r["chosen"] for r in rows] == [False, False, True]
    assert rows[1]["ndcg@10"] == pytest.approx(1.0)
    (tmp_path / "oracle.json").write_text(json.dumps(table.results["oracle"].to_dict()))
    assert json.loads((tmp_path / "oracle.json").read_text())["n_scored"] == table.results["oracle"].n_scored


def test_compare_without_fitting_needs_fitted_models(holdout):
    fitted = Popularity().fit(holdout.train)
    table = compare({"pop": fitted}, holdout, ks=(5,), fit=False)
    assert table.fit_seconds["pop"] is None
    assert "| pop |" in table.to_markdown(["ndcg@5"])
    with pytest.raises(NotFittedError, match=r"models\['fresh'\] is not fitted"):
        compare({"pop": fitted, "fresh": Popularity()}, holdout, fit=False)
    with pytest.raises(KeyError, match="chosen='nope'"):
        compare({"pop": fitted}, holdout, chosen="nope")
    with pytest.raises(KeyError, match="unknown metric columns"):
        table.to_markdown(["ndcg@99"])
    with pytest.raises(ValueError, match="models is empty"):
        compare({}, holdout)
