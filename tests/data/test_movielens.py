"""MovieLens-100K adapter: the real files when present (never copied), tiny look-alikes otherwise."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from reelrec.data import load_dataset, load_movielens_100k
from reelrec.errors import DataError, DataWarning

# The look-alike files hold a user without ratings on purpose (test_tiny_files checks the warning).
pytestmark = pytest.mark.filterwarnings("ignore:.*match no rating.*:reelrec.errors.DataWarning")


def write_tiny(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text("1\t10\t4\t881250949\n2\t10\t5\t891717742\n1\t11\t1\t878887116\n")
    (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|T8H1N\n3|30|F|writer|\n")
    flags = ["0"] * 19
    drama = flags.copy()
    drama[8] = "1"
    both = drama.copy()
    both[5] = "1"
    lines = [
        "|".join(["10", "Caf\xe9 (1995)", "01-Jan-1995", "", "http://x", *both]),
        "|".join(["11", "unknown", "", "", "", *flags]),
    ]
    (folder / "u.item").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return folder


def test_tiny_files(tmp_path):
    with pytest.warns(DataWarning, match=r"u\.user: 1 ids in column 'user_id' match no rating"):
        data = load_movielens_100k(write_tiny(tmp_path))
    assert data.source == "movielens-100k" and data.label_name == "rating"
    assert data.users.to_list() == [1, 2, 3] and data.items.to_list() == [10, 11]
    np.testing.assert_array_equal(data.interactions.label, np.float32([4, 5, 1]))
    assert data.interactions.timestamp[0] == 881250949.0
    users = data.user_features.frame
    assert data.user_features.kinds == {
        "age": "numeric",
        "gender": "categorical",
        "occupation": "categorical",
        "zip_prefix": "categorical",
    }
    assert users["zip_prefix"].to_list() == ["8", "T", None]
    items = data.item_features.frame
    assert items["genres"].to_list() == [["Comedy", "Drama"], []]
    assert items["release_year"].to_list() == [1995.0, None]


def test_detected_in_a_parent_folder_or_a_zip(tmp_path):
    write_tiny(tmp_path / "ml-100k")
    assert len(load_dataset(tmp_path).interactions) == 3
    with zipfile.ZipFile(tmp_path / "ml-100k.zip", "w") as zf:
        for path in (tmp_path / "ml-100k").iterdir():
            zf.write(path, f"ml-100k/{path.name}")
    assert len(load_dataset(tmp_path / "ml-100k.zip").interactions) == 3


def test_genre_names_come_from_u_genre_when_present(tmp_path):
    folder = write_tiny(tmp_path)
    names = [f"g{k}" for k in range(19)]
    (folder / "u.genre").write_text("\n".join(f"{n}|{k}" for k, n in enumerate(names)) + "\n\n")
    assert load_movielens_100k(folder).item_features.frame["genres"][0].to_list() == ["g5", "g8"]


def test_bad_rating_row_is_named(tmp_path):
    folder = write_tiny(tmp_path)
    (folder / "u.data").write_text("1\t10\t4\t881250949\n2\t10\tfive\t891717742\n")
    with pytest.raises(DataError, match=r"u\.data: column 'rating', row 2 \(line 2\): value 'five', expected a rating"):
        load_movielens_100k(folder)


def test_wrong_separator_in_u_data(tmp_path):
    folder = write_tiny(tmp_path)
    (folder / "u.data").write_text("1,10,4,881250949\n")
    with pytest.raises(DataError, match=r"u\.data: line 1 is separated by commas; expected fields separated by tabs"):
        load_movielens_100k(folder)


def test_bad_genre_flag(tmp_path):
    folder = write_tiny(tmp_path)
    text = (folder / "u.item").read_bytes().decode("latin-1").splitlines()
    text[1] = text[1][:-1] + "7"
    (folder / "u.item").write_bytes(("\n".join(text) + "\n").encode("latin-1"))
    with pytest.raises(DataError, match=r"u\.item: column 'g18', row 2 \(line 2\): value 7, expected a 0/1 genre flag"):
        load_movielens_100k(folder)


def test_missing_u_user(tmp_path):
    folder = write_tiny(tmp_path)
    (folder / "u.user").unlink()
    with pytest.raises(DataError, match=r"u\.user: file not found"):
        load_movielens_100k(folder)


def test_real_movielens_100k(ml100k_path):
    data = load_dataset(ml100k_path)
    assert (data.n_users, data.n_items, len(data.interactions)) == (943, 1682, 100_000)
    counts = np.bincount(data.interactions.label.astype(int), minlength=6)[1:]
    assert counts.tolist() == [6110, 11370, 27145, 34174, 21201]  # from the data's provenance notes
    items = data.item_features.frame
    toy_story = int(data.items.index([1])[0])
    assert items["genres"][toy_story].to_list() == ["Animation", "Children's", "Comedy"]
    assert items["release_year"][toy_story] == 1995.0
    assert items["release_year"][int(data.items.index([267])[0])] is None  # the "unknown" placeholder
    users = data.user_features.frame
    assert users["gender"].value_counts().sort("gender")["count"].to_list() == [273, 670]
    assert users["occupation"].n_unique() == 21
    assert data.meta["log"]["exact_duplicate_rows"] == 0
    assert not (ml100k_path / ".reelrec-cache").exists()
