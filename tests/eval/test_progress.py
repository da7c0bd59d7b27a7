"""rich progress bars plug into evaluate/compare without changing the numbers."""

from __future__ import annotations

import io

from rich.console import Console

from reelrec.eval import compare, holdout_split, rich_progress
from reelrec.models._popularity import Popularity
from tests.conftest import make_toy_dataset


def test_rich_progress_draws_and_leaves_results_alone():
    split = holdout_split(make_toy_dataset(n_users=30, n_items=40, per_user=15, with_block=False))
    plain = compare({"pop": Popularity()}, split, ks=(5,))
    out = io.StringIO()
    with rich_progress(Console(file=out, force_terminal=True, width=80)) as progress:
        drawn = compare({"pop": Popularity()}, split, ks=(5,), batch_size=4, progress=progress)
    assert drawn.results["pop"].metrics == plain.results["pop"].metrics
    assert "recommend" in out.getvalue()
