"""Fixtures: one small synthetic KuaiRec folder per session, and its tables loaded with polars."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from reelrec.synth import write_kuairec

SCALE = 0.03


@pytest.fixture(scope="session")
def synth_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A scale-0.03 world (1,243 users x 1,858 videos, ~380 k big-matrix rows), written once."""
    out = tmp_path_factory.mktemp("kuairec")
    return out, write_kuairec(out, scale=SCALE, seed=0)


@pytest.fixture(scope="session")
def synth_dir(synth_run: tuple[Path, dict]) -> Path:
    return synth_run[0]


@pytest.fixture(scope="session")
def big(synth_dir: Path) -> pl.DataFrame:
    return pl.read_csv(synth_dir / "big_matrix.csv")


@pytest.fixture(scope="session")
def small(synth_dir: Path) -> pl.DataFrame:
    return pl.read_csv(synth_dir / "small_matrix.csv")


@pytest.fixture(scope="session")
def truth(synth_dir: Path) -> pl.DataFrame:
    return pl.read_csv(synth_dir / "small_matrix_truth.csv")
