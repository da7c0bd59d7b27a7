"""The shared fixtures' own rules: a missing MovieLens-100K is a skip locally and a failure on CI."""

from __future__ import annotations

import pytest

from tests.conftest import missing_ml100k, on_ci


@pytest.mark.parametrize("value", ["true", "True", "1"])
def test_missing_movielens_fails_on_ci(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    assert on_ci()
    with pytest.raises(pytest.fail.Exception, match="CI=true but MovieLens-100K is missing"):
        missing_ml100k()


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_missing_movielens_skips_off_ci(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert not on_ci()
    with pytest.raises(pytest.skip.Exception, match="MovieLens-100K not found"):
        missing_ml100k()
