"""Generic layout reader: csv and parquet, inferred and declared feature kinds, id types, bad input."""

from __future__ import annotations

import json
import math
import warnings
import zipfile

import numpy as np
import polars as pl
import pytest

from reelrec.data import load_generic
from reelrec.errors import DataError, DataWarning

INTERACTIONS = """user_id,item_id,label,timestamp
u1,a,1.0,1000
u2,b,0.0,1001
u1,c,3.5,1002
u3,a,2.0,
u2,b,0.0,1001
u1,a,4.0,1010
"""
USERS = """user_id,age,country,plan,level
u1,31,fr,premium,1
u2,45.5,de,free,2
u3,28,fr,free,1
u9,50,it,free,3
"""
ITEMS = """item_id,genres,length
a,drama|comedy,95
b,drama,120
c,,88
"""


def write(folder, name: str, text: str):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "shop"
    write(root, "interactions.csv", INTERACTIONS)
    write(root, "users.csv", USERS)
    write(root, "items.csv", ITEMS)
    return root


def load(path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return load_generic(path, cache=False, **options)


def test_string_ids_labels_and_timestamps(folder):
    data = load(folder)
    assert data.users.to_list() == ["u1", "u2", "u3", "u9"]  # feature-only user included, sorted
    assert data.items.to_list() == ["a", "b", "c"]
    assert data.users.raw(data.interactions.user).tolist() == ["u1", "u2", "u1", "u3", "u2", "u1"]
    np.testing.assert_array_equal(data.interactions.label, np.float32([1, 0, 3.5, 2, 0, 4]))
    ts = data.interactions.timestamp
    assert ts[0] == 1000 and math.isnan(ts[3])
    assert data.source == "generic" and data.label_name == "label"


def test_feature_kinds_are_inferred(folder):
    data = load(folder)
    assert data.user_features.kinds == {
        "age": "numeric",
        "country": "categorical",
        "plan": "categorical",
        "level": "categorical",  # integer with few distinct values
    }
    assert data.item_features.kinds == {"genres": "multi", "length": "categorical"}
    genres = data.item_features.frame["genres"].to_list()
    assert genres[0] == ["drama", "comedy"] and genres[1] == ["drama"] and genres[2] is None
    assert data.user_features.frame["age"].dtype == pl.Float32


def test_many_distinct_integers_are_numeric(tmp_path):
    rows = "\n".join(f"{i},i{i % 3},1" for i in range(30))
    write(tmp_path, "interactions.csv", "user_id,item_id,label\n" + rows + "\n")
    write(tmp_path, "users.csv", "user_id,followers\n" + "\n".join(f"{i},{i * 7}" for i in range(30)) + "\n")
    assert load(tmp_path).user_features.kinds == {"followers": "numeric"}


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_schema_file_overrides_inference(folder, fmt):
    if fmt == "json":
        write(
            folder,
            "schema.json",
            json.dumps({"users": {"level": "numeric", "plan": "ignore"}, "items": {"length": "numeric"}}),
        )
    else:
        write(folder, "schema.toml", '[users]\nlevel = "numeric"\nplan = "ignore"\n[items]\nlength = "numeric"\n')
    data = load(folder)
    assert data.user_features.kinds == {"age": "numeric", "country": "categorical", "level": "numeric"}
    assert data.item_features.kinds["length"] == "numeric"
    assert data.user_features.frame["level"].dtype == pl.Float32


def test_schema_argument_wins_and_is_validated(folder):
    data = load(folder, schema={"items": {"genres": "categorical"}})
    assert data.item_features.kinds["genres"] == "categorical"
    assert data.item_features.frame["genres"][0] == "drama|comedy"
    with pytest.raises(DataError, match=r"users\.agee is not a column of .*users\.csv"):
        load(folder, schema={"users": {"agee": "numeric"}})
    with pytest.raises(DataError, match=r"users\.age = 'number'; expected one of numeric, categorical, multi, ignore"):
        load(folder, schema={"users": {"age": "number"}})
    with pytest.raises(DataError, match="unknown section 'videos'"):
        load(folder, schema={"videos": {}})


def test_bad_schema_file(folder):
    write(folder, "schema.json", "{not json")
    with pytest.raises(DataError, match=r"schema\.json: not valid json"):
        load(folder)


def test_schema_numeric_on_text_names_the_row(folder):
    with pytest.raises(
        DataError, match=r"users\.csv: column 'country', row 1 \(line 2\): value 'fr', expected a number"
    ):
        load(folder, schema={"users": {"country": "numeric"}})


def test_integer_ids_and_parquet_files(tmp_path):
    pl.DataFrame({"user_id": [3, 1, 3], "item_id": [10, 10, 11], "label": [1.0, 2.0, 3.0]}).write_parquet(
        tmp_path / "interactions.parquet"
    )
    pl.DataFrame({"item_id": [10, 11], "tags": [["x", "y"], ["z"]], "price": [1.5, 2.5]}).write_parquet(
        tmp_path / "items.parquet"
    )
    data = load(tmp_path)
    assert data.users.to_list() == [1, 3] and data.users.is_integer
    assert data.item_features.kinds == {"tags": "multi", "price": "numeric"}
    assert data.item_features.frame["tags"].to_list() == [["x", "y"], ["z"]]
    assert np.isnan(data.interactions.timestamp).all()


def test_iso_timestamps_become_unix_seconds(tmp_path):
    write(
        tmp_path,
        "interactions.csv",
        "user_id,item_id,label,timestamp\n1,2,1,2020-07-05T00:00:00\n1,3,1,2020-07-06 12:00:00\n",
    )
    ts = load(tmp_path).interactions.timestamp
    assert ts.tolist() == [1593907200.0, 1594036800.0]


def test_duplicate_policies(folder):
    keep = load(folder)
    assert keep.meta["log"]["exact_duplicate_rows"] == 1
    assert keep.meta["log"]["repeat_view_rows"] == 1  # (u1, a) seen twice with different rows
    drop = load(folder, duplicates="drop")
    assert len(drop.interactions) == 5
    agg = load(folder, duplicates="aggregate")
    pairs = dict(
        zip(
            zip(
                agg.users.raw(agg.interactions.user).tolist(),
                agg.items.raw(agg.interactions.item).tolist(),
                strict=True,
            ),
            agg.interactions.label.tolist(),
            strict=True,
        )
    )
    assert pairs[("u1", "a")] == pytest.approx(2.5) and len(pairs) == 4


def test_clip_applies_only_when_asked(folder):
    assert load(folder).interactions.label.max() == 4.0
    assert load(folder, clip=2.0).interactions.label.max() == 2.0


def test_feature_only_ids_warn(folder):
    with pytest.warns(DataWarning, match=r"users\.csv: 1 ids in column 'user_id' match no interaction \(e\.g\. 'u9'\)"):
        load_generic(folder, cache=False)


# ------------------------------------------------------------------------------------------- bad input
def test_missing_interactions_file(tmp_path):
    write(tmp_path, "users.csv", USERS)
    with pytest.raises(DataError, match=r"no interactions\.csv or interactions\.parquet"):
        load(tmp_path)


def test_missing_column(tmp_path):
    write(tmp_path, "interactions.csv", "user_id,item,label\n1,2,3\n")
    with pytest.raises(
        DataError, match=r"interactions\.csv: missing column 'item_id'; found columns: user_id, item, label"
    ):
        load(tmp_path)


@pytest.mark.parametrize("name", ["interactions.csv", "users.csv"])
def test_duplicated_column_name_is_refused(tmp_path, name):
    # issue 13, item 5: the first of two 'label' columns used to win silently
    write(tmp_path, "interactions.csv", "user_id,item_id,label,label\nu1,a,1.0,9.0\n")
    if name == "users.csv":
        write(tmp_path, "interactions.csv", "user_id,item_id,label\nu1,a,1.0\n")
        write(tmp_path, "users.csv", "user_id,age,age\nu1,31,32\n")
    column = "label" if name == "interactions.csv" else "age"
    fields = "3, 4" if name == "interactions.csv" else "2, 3"
    expected = rf"{name}: column '{column}' appears 2 times in the header \(fields {fields}\)"
    with pytest.raises(DataError, match=expected):
        load(tmp_path)


def test_missing_column_in_parquet(tmp_path):
    pl.DataFrame({"user_id": [1], "item_id": [2]}).write_parquet(tmp_path / "interactions.parquet")
    with pytest.raises(DataError, match=r"interactions\.parquet: missing column 'label'"):
        load(tmp_path)


def test_mixed_ids_are_an_error_unless_declared_text(tmp_path):
    write(tmp_path, "interactions.csv", "user_id,item_id,label\n1,5,1\n2,5,1\nx3,6,1\n")
    with pytest.raises(
        DataError, match=r"column 'user_id', row 3 \(line 4\): value 'x3', expected an integer id like the other rows"
    ):
        load(tmp_path)
    assert load(tmp_path, id_dtype="str").users.to_list() == ["1", "2", "x3"]


def test_non_numeric_id_when_integers_are_required(tmp_path):
    write(tmp_path, "interactions.csv", "user_id,item_id,label\nabc,5,1\n")
    with pytest.raises(DataError, match=r"column 'user_id', row 1 \(line 2\): value 'abc', expected an integer id"):
        load(tmp_path, id_dtype="int")


def test_feature_ids_must_match_the_interaction_id_type(tmp_path):
    write(tmp_path, "interactions.csv", "user_id,item_id,label\n1,5,1\n")
    write(tmp_path, "users.csv", "user_id,age\n1,20\nbob,30\n")
    with pytest.raises(
        DataError, match=r"users\.csv: column 'user_id', row 2 \(line 3\): value 'bob', expected an integer id"
    ):
        load(tmp_path)


@pytest.mark.parametrize("value", ["NaN", "inf", "-inf"])
def test_non_finite_label(tmp_path, value):
    write(tmp_path, "interactions.csv", f"user_id,item_id,label\n1,5,1\n1,6,{value}\n")
    with pytest.raises(
        DataError, match=r"interactions\.csv: column 'label', row 2 \(line 3\): value .*, expected a finite number"
    ):
        load(tmp_path)


def test_text_label(tmp_path):
    write(tmp_path, "interactions.csv", "user_id,item_id,label\n1,5,1\n1,6,good\n")
    with pytest.raises(DataError, match=r"column 'label', row 2 \(line 3\): value 'good', expected a finite number"):
        load(tmp_path)


def test_empty_file(tmp_path):
    write(tmp_path, "interactions.csv", "")
    with pytest.raises(DataError, match=r"interactions\.csv: file is empty"):
        load(tmp_path)


def test_truncated_last_line(tmp_path):
    write(tmp_path, "interactions.csv", "user_id,item_id,label\n1,5,1\n1,6")
    with pytest.raises(DataError, match=r"column 'label', row 2 \(line 3\): empty value.*last line looks truncated"):
        load(tmp_path)


@pytest.mark.parametrize(("sep", "label"), [(";", "semicolons"), ("\t", "tabs")])
def test_wrong_delimiter(tmp_path, sep, label):
    write(tmp_path, "interactions.csv", INTERACTIONS.replace(",", sep))
    with pytest.raises(DataError, match=rf"interactions\.csv: line 1 is separated by {label}"):
        load(tmp_path)


def test_row_with_extra_fields(tmp_path):
    write(tmp_path, "interactions.csv", "user_id,item_id,label\n1,5,1\n1,6,2,9\n")
    with pytest.raises(DataError, match=r"interactions\.csv: line 3 has 4 fields, expected 3"):
        load(tmp_path)


def test_repeated_feature_row(folder):
    write(folder, "items.csv", ITEMS + "b,drama,121\n")
    with pytest.raises(DataError, match=r"items\.csv: column 'item_id', row 4 \(line 5\).*one row per item"):
        load(folder)


def test_bad_timestamp(tmp_path):
    write(tmp_path, "interactions.csv", "user_id,item_id,label,timestamp\n1,5,1,2020-07-05\n1,6,1,soon\n")
    with pytest.raises(DataError, match=r"column 'timestamp', row 2 \(line 3\): value 'soon'"):
        load(tmp_path)


def test_both_csv_and_parquet_is_ambiguous(folder):
    pl.read_csv(folder / "items.csv").write_parquet(folder / "items.parquet")
    with pytest.raises(DataError, match=r"both items\.parquet and items\.csv exist"):
        load(folder)


def test_zip_archive_with_its_schema_file(folder, tmp_path):
    write(folder, "schema.json", json.dumps({"items": {"length": "numeric"}}))
    archive = tmp_path / "shop.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in folder.iterdir():
            zf.write(path, f"shop/{path.name}")
    data = load(archive)
    assert data.item_features.kinds["length"] == "numeric"
    assert data.users.to_list() == ["u1", "u2", "u3", "u9"]
