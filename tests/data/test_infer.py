"""Feature-kind inference and schema files."""

from __future__ import annotations

import polars as pl
import pytest

from reelrec.data._infer import infer_kind, read_schema
from reelrec.data._source import DataSource
from reelrec.errors import DataError


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (pl.Series(["a", "b", "a"]), "categorical"),
        (pl.Series(["a|b", "c", None]), "multi"),
        (pl.Series([[1, 2], [3]]), "multi"),
        (pl.Series([True, False]), "categorical"),
        (pl.Series(list(range(20)) * 2), "categorical"),
        (pl.Series(list(range(21))), "numeric"),
        (pl.Series([0.5, 1.0, 0.5]), "numeric"),
    ],
)
def test_infer_kind(values, kind):
    assert infer_kind(values) == kind


def test_schema_file_in_the_folder_is_found(tmp_path):
    (tmp_path / "schema.toml").write_text('[items]\nyear = "numeric"\n')
    schema = read_schema(DataSource(tmp_path), None)
    assert schema["items"] == {"year": "numeric"}
    (tmp_path / "other").mkdir()
    assert read_schema(DataSource(tmp_path / "other"), None) == {}


def test_explicit_schema_path_must_exist(tmp_path):
    with pytest.raises(DataError, match=r"nope\.json: file not found"):
        read_schema(None, tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('["users"]', "expected an object"),
        ('{"users": ["age"]}', "must map column names to kinds"),
        ('{"users": {"age": "float"}}', r"users\.age = 'float'"),
    ],
)
def test_malformed_schema(tmp_path, text, message):
    (tmp_path / "schema.json").write_text(text)
    with pytest.raises(DataError, match=message):
        read_schema(DataSource(tmp_path), None)
