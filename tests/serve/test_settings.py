"""Settings: defaults, validation, and the environment round trip that carries them to workers."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from reelrec.serve.settings import ADMIN_TOKEN_ENV, SETTINGS_ENV, ServeSettings, admin_token


def test_root_defaults_to_the_artifact_parent(tmp_path):
    s = ServeSettings(artifact=tmp_path / "arts" / "a")
    assert s.root == (tmp_path / "arts").resolve()
    assert ServeSettings(artifact=tmp_path / "a", artifact_root=tmp_path / "r").root == (tmp_path / "r").resolve()


def test_env_round_trip():
    s = ServeSettings(artifact=Path("x/a"), retrieval="ann", ann_nprobe=64, threads=1, max_body_bytes=4096)
    back = ServeSettings.from_env({SETTINGS_ENV: s.to_env()})
    assert back == s
    with pytest.raises(KeyError, match=SETTINGS_ENV):
        ServeSettings.from_env({})


@pytest.mark.parametrize(
    "bad",
    [{"max_body_bytes": 10}, {"retrieval": "fast"}, {"threads": 0}, {"unknown": 1}, {"reload_poll_seconds": 0}],
)
def test_bad_settings_are_rejected(bad):
    with pytest.raises(ValidationError):
        ServeSettings(artifact=Path("a"), **bad)


def test_admin_token_comes_only_from_the_environment():
    assert admin_token({}) is None and admin_token({ADMIN_TOKEN_ENV: ""}) is None
    assert admin_token({ADMIN_TOKEN_ENV: "s3cret"}) == "s3cret"
    assert "token" not in ServeSettings.model_fields
