"""User features: KuaiRec's bucket labels and level counts."""

from __future__ import annotations

import numpy as np
import pytest

from reelrec.synth._users import (
    FANS_BINS,
    FANS_TOP,
    FOLLOW_BINS,
    FOLLOW_TOP,
    FRIEND_BINS,
    FRIEND_TOP,
    ONEHOT_LEVELS,
    REGISTER_BINS,
    REGISTER_TOP,
    _bucket,
    sample_users,
    user_features_frame,
)


@pytest.mark.parametrize(
    ("bins", "top", "values", "labels"),
    [
        (FOLLOW_BINS, FOLLOW_TOP, [0, 1, 5, 10, 11, 386, 500, 501], ["0", "(0,10]", "(0,10]", "(0,10]", "(10,50]",
                                                                      "(250,500]", "(250,500]", "500+"]),
        (FANS_BINS, FANS_TOP, [0, 1, 9, 10, 999, 1000, 9999, 10000], ["0", "[1,10)", "[1,10)", "[10,100)", "[100,1k)",
                                                                        "[1k,5k)", "[5k,1w)", "[1w,10w)"]),
        (FRIEND_BINS, FRIEND_TOP, [0, 4, 5, 29, 30, 249, 250], ["0", "[1,5)", "[5,30)", "[5,30)", "[30,60)",
                                                                 "[120,250)", "250+"]),
        (REGISTER_BINS, REGISTER_TOP, [15, 30, 31, 90, 91, 365, 730, 731], ["15-30", "15-30", "31-60", "61-90",
                                                                             "91-180", "181-365", "366-730", "730+"]),
    ],
)
def test_bucket_labels_follow_kuairec_edges(bins, top, values, labels) -> None:
    assert _bucket(np.array(values), bins, top) == labels


def test_frame_columns_levels_and_missing_codes() -> None:
    users = sample_users(3000, np.random.default_rng(0))
    frame = user_features_frame(users)
    assert frame.columns[:13] == [
        "user_id", "user_active_degree", "is_lowactive_period", "is_live_streamer", "is_video_author",
        "follow_user_num", "follow_user_num_range", "fans_user_num", "fans_user_num_range", "friend_user_num",
        "friend_user_num_range", "register_days", "register_days_range",
    ]
    assert frame.columns[13:] == [f"onehot_feat{j}" for j in range(18)]
    for j, levels in enumerate(ONEHOT_LEVELS):
        codes = frame[f"onehot_feat{j}"].drop_nulls()
        assert codes.min() >= 0 and codes.max() < levels
    # feat12..17 go missing together (the rarest first), feat4 on its own
    missing = {j: frame[f"onehot_feat{j}"].null_count() for j in (4, 12, 13, 14, 15, 16, 17)}
    assert missing[12] >= missing[13] >= missing[15] > 0 and missing[4] > 0
    assert frame.filter(frame["onehot_feat15"].is_null())["onehot_feat12"].null_count() == missing[15]
    assert frame["register_days"].min() >= 15
    assert frame["fans_user_num"].max() < 100_000
