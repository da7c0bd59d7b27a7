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
        ids = state.items.ids.coerce([r.item_id for r in fresh])
        clone = copy.copy(model)
        clone.add_items(ids, table)
    except (FeatureInputError, ValueError, KeyError, TypeError) as exc:
        log.warning("stored videos could not be added to model %s: %s", model.name, exc)
        return dataclasses.replace(state, store_seq=seq)
    new = build_state(dataclasses.replace(state.artifact, model=clone), settings)
    return dataclasses.replace(new, store_seq=seq, live_items=state.live_items + len(fresh))
