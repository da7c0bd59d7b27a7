"""KuaiRec 2.0 reader: layouts, quirks, policies, daily features without leakage, and bad input."""

from __future__ import annotations

import math
import warnings
from collections import defaultdict

import numpy as np
import polars as pl
import pytest

from reelrec.data import load_kuairec
from reelrec.errors import DataError, DataWarning
from tests.data.kuairec_files import COUNTERS, KuaiRecFiles, write_kuairec_tiny

INTERFACE_ITEM_KINDS = {
    "tags": "multi",
    "video_tag_id": "categorical",
    "music_id": "categorical",
    "author_id": "categorical",
    "video_type": "categorical",
    "upload_type": "categorical",
    "video_duration": "numeric",
    "video_width": "numeric",
    "video_height": "numeric",
}


def load(files: KuaiRecFiles, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return load_kuairec(files.path, cache=False, **options)


@pytest.fixture
def files(tmp_path) -> KuaiRecFiles:
    return write_kuairec_tiny(tmp_path)


@pytest.fixture
def data(files):
    return load(files)


def raw_rows(ds, block: str = "interactions"):
    inter = getattr(ds, block)
    return list(
        zip(
            ds.users.raw(inter.user).tolist(),
            ds.items.raw(inter.item).tolist(),
            inter.label.tolist(),
            inter.timestamp.tolist(),
            strict=True,
        )
    )


def test_vocabularies_are_the_union_of_all_files_sorted_by_raw_id(files, data):
    users = {r.user for r in files.big + files.small} | set(files.users_with_features)
    users |= set(files.social) | {f for fs in files.social.values() for f in fs}
    items = {r.video for r in files.big + files.small} | set(files.tags) | {d["video_id"] for d in files.daily}
    assert data.users.to_list() == sorted(users)
    assert data.items.to_list() == sorted(items)
    assert data.source == "kuairec" and data.label_name == "watch_ratio"


def test_big_matrix_rows_arrive_in_file_order_with_clipped_labels(files, data):
    got = raw_rows(data)
    assert len(got) == len(files.big)
    for (u, v, label, ts), row in zip(got, files.big, strict=True):
        assert (u, v) == (row.user, row.video)
        assert label == pytest.approx(min(row.ratio, 5.0), rel=1e-6)
        assert ts == pytest.approx(row.timestamp, abs=1e-3)
    assert data.interactions.label.dtype == np.float32 and data.interactions.user.dtype == np.int32
    assert data.meta["big_matrix"]["clipped_rows"] == sum(r.ratio > 5 for r in files.big)


def test_clip_none_keeps_extreme_watch_ratios(files):
    data = load(files, clip=None)
    assert data.interactions.label.max() == pytest.approx(max(r.ratio for r in files.big), rel=1e-6)
    assert data.interactions.label.max() > 50


def test_small_matrix_rows_without_time_get_nan_timestamps(files, data):
    got = raw_rows(data, "fully_observed")
    assert [(u, v) for u, v, _, _ in got] == [(r.user, r.video) for r in files.small]
    for (_, _, _, ts), row in zip(got, files.small, strict=True):
        if row.timestamp is None:
            assert math.isnan(ts)
        else:
            assert ts == pytest.approx(row.timestamp, abs=1e-3)
    assert data.meta["small_matrix"]["rows_without_timestamp"] == sum(r.timestamp is None for r in files.small)


def test_truth_is_aligned_with_fully_observed_rows(files, data):
    expected = [files.truth[(u, v)] for u, v, _, _ in raw_rows(data, "fully_observed")]
    np.testing.assert_allclose(data.truth, expected, rtol=1e-6)
    assert data.truth.dtype == np.float32


def test_truth_in_the_small_matrix_order_is_aligned_too(files):
    # the fast path: the generator writes the truth rows in small_matrix.csv's order
    ordered = [f"{r.user},{r.video},{files.truth[(r.user, r.video)]}" for r in files.small]
    files.write("small_matrix_truth.csv", "\n".join(["user_id,video_id,expected_watch_ratio", *ordered]) + "\n")
    data = load(files)
    expected = [files.truth[(u, v)] for u, v, _, _ in raw_rows(data, "fully_observed")]
    np.testing.assert_allclose(data.truth, expected, rtol=1e-6)
    assert data.truth.dtype == np.float32


def test_truth_is_optional(tmp_path):
    data = load(write_kuairec_tiny(tmp_path, truth=False))
    assert data.truth is None and data.fully_observed is not None


def _exact_copies(rows) -> int:
    seen, copies = set(), 0
    for r in rows:
        key = (r.user, r.video, r.play, r.duration, r.timestamp)
        copies += key in seen
        seen.add(key)
    return copies


def test_duplicate_report_counts_exact_copies_and_repeat_views(files, data):
    report = data.meta["big_matrix"]
    pairs = {(r.user, r.video) for r in files.big}
    assert report["exact_duplicate_rows"] == _exact_copies(files.big) == 3
    assert report["unique_pairs"] == len(pairs)
    assert report["repeat_view_rows"] == len(files.big) - 3 - len(pairs)
    assert report["repeat_view_rows"] > 0


def test_drop_removes_only_exact_copies(files):
    data = load(files, duplicates="drop")
    assert len(data.interactions) == len(files.big) - _exact_copies(files.big)
    got = {(u, v, round(ts, 3)) for u, v, _, ts in raw_rows(data)}
    assert got == {(r.user, r.video, round(r.timestamp, 3)) for r in files.big}


def test_aggregate_gives_one_row_per_pair_with_mean_label_and_last_time(files):
    data = load(files, duplicates="aggregate")
    distinct = {(r.user, r.video, r.play, r.duration, r.timestamp): r for r in files.big}.values()
    by_pair = defaultdict(list)
    for r in distinct:
        by_pair[(r.user, r.video)].append(r)
    got = {(u, v): (label, ts) for u, v, label, ts in raw_rows(data)}
    assert set(got) == set(by_pair)
    for pair, rows in by_pair.items():
        label, ts = got[pair]
        assert label == pytest.approx(np.mean([min(r.ratio, 5.0) for r in rows]), rel=1e-6)
        assert ts == pytest.approx(max(r.timestamp for r in rows), abs=1e-3)


def test_unknown_policy_is_refused(files):
    with pytest.raises(ValueError, match="duplicates='merge'"):
        load(files, duplicates="merge")


def test_feature_columns_and_kinds_follow_the_interface(files, data):
    item_kinds = data.item_features.kinds
    for name, kind in INTERFACE_ITEM_KINDS.items():
        assert item_kinds[name] == kind
    assert {c for c in item_kinds if c.startswith("mean_")} == {f"mean_{c}" for c in COUNTERS}
    assert all(item_kinds[f"mean_{c}"] == "numeric" for c in COUNTERS)
    user_kinds = data.user_features.kinds
    header = files.read("user_features.csv").splitlines()[0].split(",")
    assert list(user_kinds) == header[1:]
    for name in ("follow_user_num", "fans_user_num", "friend_user_num", "register_days"):
        assert user_kinds[name] == "numeric"
    for name, kind in user_kinds.items():
        if name.startswith(("onehot_feat", "is_")) or name.endswith("_range") or name == "user_active_degree":
            assert kind == "categorical", name


def test_nan_onehot_codes_become_null_categories(files, data):
    col = data.user_features.frame["onehot_feat4"]
    for user, value in files.onehot4.items():
        got = col[int(data.users.index([user])[0])]
        assert (got is None) if math.isnan(value) else got == int(value)
    assert col.dtype == pl.Int64


def test_tags_and_social_lists_are_parsed(files, data):
    tags = data.item_features.frame["tags"]
    for video, expected in files.tags.items():
        assert tags[int(data.items.index([video])[0])].to_list() == expected
    social = {int(data.users.raw_ids[u]): data.users.raw(f).tolist() for u, f in data.social.items()}
    assert social == files.social


def _daily_means(files: KuaiRecFiles, last: int, first: int = 0) -> dict[int, dict[str, float]]:
    out = {}
    for video in files.tags:
        rows = [d for d in files.daily if d["video_id"] == video and first <= d["date"] <= last]
        if rows:
            out[video] = {c: float(np.mean([d[c] for d in rows if d[c] is not None])) for c in COUNTERS} | {
                "video_height": float(max(rows, key=lambda d: d["date"])["video_height"])
            }
    return out


@pytest.mark.parametrize(
    ("options", "last", "first"),
    [
        ({}, 20200707, 0),
        ({"daily_until": 20200706}, 20200706, 0),
        ({"daily_until": "2020-07-07", "daily_window_days": 2}, 20200707, 20200706),
    ],
)
def test_daily_features_use_only_days_up_to_the_cutoff(files, options, last, first):
    data = load(files, **options)
    expected = _daily_means(files, last, first)
    frame = data.item_features.frame
    assert data.meta["daily_until"] == last
    for video in files.tags:
        row = frame.row(int(data.items.index([video])[0]), named=True)
        if video not in expected:
            assert row["mean_show_cnt"] is None  # its only daily row lies after the cutoff
            continue
        for counter in COUNTERS:
            assert row[f"mean_{counter}"] == pytest.approx(expected[video][counter], rel=1e-5)
        assert row["video_height"] == expected[video]["video_height"]


def test_video_duration_falls_back_to_the_logged_length(files, data):
    # Video 12's only daily row is after the cutoff; its length still comes from the matrices.
    row = data.item_features.frame.row(int(data.items.index([12])[0]), named=True)
    assert row["video_duration"] == files.duration[12]
    assert row["author_id"] is None


@pytest.mark.parametrize("bad", ["2020-13-01", "yesterday", 2020070])
def test_bad_daily_until_is_a_value_error(files, bad):
    with pytest.raises(ValueError, match="daily_until"):
        load(files, daily_until=bad)


@pytest.mark.parametrize("layout", ["data", "release", "zip"])
def test_every_release_layout_loads_the_same(tmp_path, layout, data):
    other = load(write_kuairec_tiny(tmp_path / layout, layout=layout))
    assert other.users == data.users and other.items == data.items
    np.testing.assert_array_equal(other.interactions.label, data.interactions.label)
    assert other.item_features.frame.equals(data.item_features.frame)


def test_a_parent_folder_holding_the_zip_is_recognised(tmp_path, data):
    files = write_kuairec_tiny(tmp_path, layout="zip")
    other = load(KuaiRecFiles(path=tmp_path, folder=files.folder))
    assert other.users == data.users and files.path.name == "KuaiRec.zip"


@pytest.mark.filterwarnings("ignore::reelrec.errors.DataWarning")
def test_feature_ids_without_interactions_warn_but_are_kept(files):
    with pytest.warns(DataWarning, match=r"user_features\.csv: 1 users .*match no interaction \(e\.g\. 9\)"):
        data = load_kuairec(files.path, cache=False)
    assert 9 in data.users and 20 in data.items


def test_caption_categories_are_used_when_they_parse(tmp_path):
    data = load(write_kuairec_tiny(tmp_path, caption="good"))
    for name in ("first_level_category_id", "second_level_category_id", "third_level_category_id"):
        assert data.item_features.kinds[name] == "categorical"
    assert data.item_features.frame["first_level_category_id"][int(data.items.index([11])[0])] == 11 % 3


@pytest.mark.filterwarnings("ignore::reelrec.errors.DataWarning")
def test_unparseable_caption_file_is_ignored_with_a_warning(tmp_path):
    files = write_kuairec_tiny(tmp_path, caption="bad")
    with pytest.warns(DataWarning, match="kuairec_caption_category.csv ignored"):
        data = load_kuairec(files.path, cache=False)
    assert "first_level_category_id" not in data.item_features.kinds


def test_no_kuairec_files_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no KuaiRec data found"):
        load_kuairec(tmp_path)


# ------------------------------------------------------------------------------------------- bad input
def _replace_line(files: KuaiRecFiles, name: str, line_no: int, text: str) -> None:
    lines = files.read(name).splitlines()
    lines[line_no - 1] = text
    files.write(name, "\n".join(lines) + "\n")


def test_missing_file(files):
    (files.folder / "item_categories.csv").unlink()
    with pytest.raises(DataError, match=r"item_categories\.csv: file not found"):
        load(files)


def test_missing_column(files):
    text = files.read("big_matrix.csv").replace("watch_ratio", "ratio", 1)
    files.write("big_matrix.csv", text)
    with pytest.raises(DataError, match=r"big_matrix\.csv: missing column 'watch_ratio'; found columns: user_id"):
        load(files)


def test_non_numeric_id(files):
    _replace_line(files, "big_matrix.csv", 5, "u7" + files.read("big_matrix.csv").splitlines()[4][1:])
    with pytest.raises(
        DataError, match=r"big_matrix\.csv: column 'user_id', row 4 \(line 5\): value 'u7', expected an integer user id"
    ):
        load(files)


@pytest.mark.parametrize("duration", ["0", "-3067"])
def test_non_positive_video_duration(files, duration):
    fields = files.read("small_matrix.csv").splitlines()[3].split(",")
    fields[3] = duration
    _replace_line(files, "small_matrix.csv", 4, ",".join(fields))
    with pytest.raises(
        DataError,
        match=rf"small_matrix\.csv: column 'video_duration', row 3 \(line 4\): value {duration}\.0, expected a posit",
    ):
        load(files)


@pytest.mark.parametrize("value", ["NaN", "inf", "-0.5"])
def test_bad_label(files, value):
    fields = files.read("big_matrix.csv").splitlines()[9].split(",")
    fields[-1] = value
    _replace_line(files, "big_matrix.csv", 10, ",".join(fields))
    with pytest.raises(
        DataError,
        match=r"big_matrix\.csv: column 'watch_ratio', row 9 \(line 10\): value .*, expected a finite, non-negative",
    ):
        load(files)


def test_empty_file(files):
    files.write("social_network.csv", "")
    with pytest.raises(
        DataError, match=r"social_network\.csv: file is empty; expected a header line 'user_id,friend_list'"
    ):
        load(files)


def test_header_only_interaction_file(files):
    files.write("small_matrix.csv", files.read("small_matrix.csv").splitlines()[0] + "\n")
    with pytest.raises(DataError, match=r"small_matrix\.csv: no data rows below the header"):
        load(files)


def test_truncated_last_line(files):
    text = files.read("big_matrix.csv").rstrip("\n")
    files.write("big_matrix.csv", text[: text.rfind(",") - 3])  # cut inside the timestamp
    n = len(files.big)
    with pytest.raises(
        DataError,
        match=rf"big_matrix\.csv: column 'watch_ratio', row {n} \(line {n + 1}\): empty value.*line looks truncated",
    ):
        load(files)


@pytest.mark.parametrize(("sep", "label"), [(";", "semicolons"), ("\t", "tabs")])
def test_wrong_delimiter(files, sep, label):
    files.write("user_features.csv", files.read("user_features.csv").replace(",", sep))
    with pytest.raises(
        DataError, match=rf"user_features\.csv: line 1 is separated by {label}; expected fields separated by commas"
    ):
        load(files)


def test_list_column_that_does_not_parse(files):
    _replace_line(files, "item_categories.csv", 3, '11,"[27; 9]"')
    with pytest.raises(
        DataError,
        match=r"item_categories\.csv: column 'feat', row 2 \(line 3\): value '\[27; 9\]', expected a bracketed list",
    ):
        load(files)


def test_list_is_never_evaluated(files, tmp_path):
    marker = tmp_path / "pwned"
    _replace_line(files, "social_network.csv", 2, f"2,\"__import__('pathlib').Path('{marker}').touch()\"")
    with pytest.raises(DataError, match="friend_list"):
        load(files)
    assert not marker.exists()


def test_repeated_feature_row(files):
    lines = files.read("item_categories.csv").splitlines()
    files.write("item_categories.csv", "\n".join([*lines, lines[2]]) + "\n")
    with pytest.raises(
        DataError, match=rf"item_categories\.csv: column 'video_id', row {len(lines)} .*one row per video"
    ):
        load(files)


def test_truth_missing_a_pair(files):
    lines = files.read("small_matrix_truth.csv").splitlines()
    files.write("small_matrix_truth.csv", "\n".join(lines[:-1]) + "\n")
    with pytest.raises(DataError, match=r"small_matrix_truth\.csv: no expected_watch_ratio for 1 small-matrix pairs"):
        load(files)


def test_impossible_date(files):
    fields = files.read("big_matrix.csv").splitlines()[6].split(",")
    fields[5] = "20201345"
    _replace_line(files, "big_matrix.csv", 7, ",".join(fields))
    with pytest.raises(DataError, match=r"big_matrix\.csv: column 'date', row 6 \(line 7\): value 20201345\.0"):
        load(files)
