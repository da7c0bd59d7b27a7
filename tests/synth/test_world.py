"""The planted ground truth: content, collaborative and quality signal, and biased exposure."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from reelrec.synth._matrices import big_chunk, chunks, coverage_users
from reelrec.synth._shape import synth_shape
from reelrec.synth._users import TASTE_FEATURES
from reelrec.synth._videos import N_TAGS
from reelrec.synth._world import World, make_world


@pytest.fixture(scope="module")
def world() -> World:
    return make_world(synth_shape(0.02), seed=0)


def test_content_part_is_a_function_of_user_codes_and_video_tags(world: World) -> None:
    taste = world.user_vec[:, :N_TAGS]
    codes = world.users.onehot[:, list(TASTE_FEATURES)]
    # users sharing every taste code share the whole content part
    _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(taste, taste[first][inverse.ravel()])
    content = taste @ world.videos.tag_weights.T
    assert 0.12 < content.std() < 0.35


def test_expected_ratio_has_user_item_and_interaction_structure(world: World) -> None:
    users = np.arange(len(world.users))
    log_e = world.user_base[:, None] + world.video_base[None, :] + world.personal(users)
    np.testing.assert_allclose(
        world.log_expected(np.repeat(users[:5], 3), np.tile([0, 1, 2], 5)), log_e[:5, :3].ravel(), rtol=1e-5
    )
    interaction = log_e - log_e.mean(axis=1, keepdims=True) - log_e.mean(axis=0, keepdims=True) + log_e.mean()
    item = log_e.mean(axis=0)
    # personalisation matters about as much as the item effect
    assert interaction.std() > 0.6 * item.std() > 0.1
    # quality and length move the expectation in the documented directions
    assert np.corrcoef(world.videos.quality, item)[0, 1] > 0.3
    assert np.corrcoef(np.log(world.videos.duration), item)[0, 1] < -0.3


def test_exposure_favours_popular_and_liked_videos(world: World) -> None:
    forced = coverage_users(world, np.random.default_rng(0))
    users = next(chunks(np.arange(len(world.users))))
    frame = big_chunk(world, users, forced, np.random.SeedSequence(1))
    u, v = frame["user_id"].to_numpy(), frame["video_id"].to_numpy()
    personal = world.personal(users)
    assert personal[u - users[0], v].mean() > personal.mean() + 0.03  # users see more of what they like
    views = np.bincount(v, minlength=len(world.videos))
    rank = pl.DataFrame({"pop": world.videos.log_pop, "views": views}).select(
        pl.corr("pop", "views", method="spearman")
    ).item()
    assert rank > 0.6
    small_users = np.isin(u, world.small_users)
    assert not np.isin(v[small_users], world.small_videos).any()


def test_small_block_videos_are_shown_all_period(world: World) -> None:
    videos = world.videos
    assert (videos.start[world.small_videos] == 0).all() and (videos.end[world.small_videos] == 62).all()
    assert (videos.duration[world.small_videos] >= 3000).all()
