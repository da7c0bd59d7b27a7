"""New videos from the event store: validated side features, then ``model.add_items`` on a copy.

Every worker process registers the same stored videos with its own model, so a video posted to one
worker is served by all of them; a reload starts from the new artifact's catalogue and takes the
stored videos it lacks again.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from typing import Any

import polars as pl

from reelrec.data._dataset import FeatureKind, FeatureTable
from reelrec.events import ItemRow
from reelrec.models._base import Recommender
from reelrec.serve.features import FeatureInputError, feature_table
from reelrec.serve.settings import ServeSettings
from reelrec.serve.state import ServingState, build_state

log = logging.getLogger("reelrec.serve")


def item_feature_kinds(state: ServingState) -> dict[str, FeatureKind]:
    """The artifact's video feature columns and kinds (``dataset.json`` ``item_features``)."""
    return dict(state.artifact.dataset.get("item_features") or {})


def item_table(values: list[dict[str, Any]], kinds: dict[str, FeatureKind]) -> FeatureTable:
    """One row per video holding every column in ``kinds`` (absent columns are null).

    Raises :class:`FeatureInputError` whose ``field`` is ``"<row>.<column>"`` for the first unknown
    column or wrong value.
    """
    if not kinds:
        raise FeatureInputError("features", "this artifact records no video feature columns")
    frames = []
    for row, feats in enumerate(values):
        for name in feats:
            if name not in kinds:
                shown = ", ".join(list(kinds)[:20])
                raise FeatureInputError(
                    f"{row}.{name}", f"unknown video feature {name!r}; this artifact's video features are: {shown}"
                )
        try:
            frames.append(feature_table(feats, kinds).frame)
        except FeatureInputError as exc:
            raise FeatureInputError(f"{row}.{exc.field}", exc.message) from None
    try:
        frame = pl.concat(frames, how="vertical_relaxed")
    except (pl.exceptions.PolarsError, TypeError) as exc:
        message = f"videos' feature values do not share one type per column ({exc})"
        raise FeatureInputError("features", message) from None
    return FeatureTable(frame, dict(kinds))


def added(state: ServingState, item_ids: list[str], table: FeatureTable) -> Recommender:
    """A shallow copy of the state's model with the videos added (the state's own model is untouched)."""
    clone = copy.copy(state.model)
    clone.add_items(state.items.ids.coerce(item_ids), table)
    return clone


def with_stored_items(state: ServingState, rows: list[ItemRow], seq: int, settings: ServeSettings) -> ServingState:
    """``state`` plus the stored videos it lacks, as a new state (the old one is left untouched).

    The model is shallow-copied before ``add_items``; models replace their arrays rather than change
    them in place, so requests still holding the old state keep a consistent catalogue.
    """
    model = state.model
    fresh = [r for r in rows if state.items.get(r.item_id) is None]
    if not fresh:
        return dataclasses.replace(state, store_seq=seq)
    if not model.supports_new_items:
        log.warning("model %s cannot take new videos; %d stored videos are not served", model.name, len(fresh))
        return dataclasses.replace(state, store_seq=seq)
    try:
        table = item_table([r.features for r in fresh], item_feature_kinds(state))
        clone, taken = added(state, [r.item_id for r in fresh], table), len(fresh)
    except Exception:  # one bad stored video must not keep the others out, nor take the service down
        clone, taken = _one_by_one(state, fresh)
    if taken == 0:
        return dataclasses.replace(state, store_seq=seq)
    try:
        new = build_state(dataclasses.replace(state.artifact, model=clone), settings)
    except Exception:
        log.exception("the catalogue with %d stored videos could not be built; serving without them", taken)
        return dataclasses.replace(state, store_seq=seq)
    return dataclasses.replace(new, store_seq=seq, live_items=state.live_items + taken)


def _one_by_one(state: ServingState, rows: list[ItemRow]) -> tuple[Recommender, int]:
    """Add stored videos one at a time, skipping (and logging) each one the model cannot take."""
    model, taken = state.model, 0
    kinds = item_feature_kinds(state)
    for row in rows:
        try:
            candidate = copy.copy(model)
            candidate.add_items(state.items.ids.coerce([row.item_id]), item_table([row.features], kinds))
        except Exception as exc:
            log.warning("stored video %s cannot be added to model %s: %s", row.item_id, state.model.name, exc)
            continue
        model, taken = candidate, taken + 1
    return model, taken
