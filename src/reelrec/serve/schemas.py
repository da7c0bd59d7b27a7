"""Request and response models of the HTTP API (pydantic); they are also the OpenAPI documentation.

Requests are strict: unknown fields, wrong JSON types (``"10"`` for an integer, ``1`` for a boolean)
and out-of-range values are rejected with ``422`` naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    model_validator,
)

from reelrec.models._history import MAX_HISTORY

#: Largest ``k`` any endpoint accepts.
MAX_K = 1000
#: Longest candidate / exclusion list in one request.
MAX_ITEM_LIST = 100_000
#: Most (user, item) pairs in one prediction request.
MAX_PAIRS = 10_000
#: Most events in one ``POST /v1/events`` batch.
MAX_EVENTS = 10_000
#: Most videos in one ``POST /v1/items`` request.
MAX_NEW_ITEMS = 1000

Text = Annotated[str, StringConstraints(min_length=1, max_length=256, strict=True)]
#: A raw user or video id: JSON integer or string (string ids of integer vocabularies must be decimal).
RawId = StrictInt | Text
FeatureScalar = StrictBool | StrictInt | StrictFloat | Annotated[str, StringConstraints(max_length=256, strict=True)]
FeatureValue = FeatureScalar | Annotated[list[FeatureScalar | None], Field(max_length=256)] | None


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class HistoryEntry(_Request):
    """One recent view sent with a request (the real-time feed's short-term history)."""

    item_id: RawId = Field(description="A video id in the catalogue.")
    watch_ratio: StrictFloat | StrictInt | None = Field(
        None, ge=0, le=1000, description="Play time over video length; omitted or null: a plain view."
    )
    timestamp: StrictFloat | StrictInt | None = Field(None, description="When it was watched (Unix seconds).")
    skipped: StrictBool = Field(False, description="The user swiped it away (negative feedback).")


class FeedRulesIn(_Request):
    """Feed rules for one request; a field left out keeps the service default (off unless configured)."""

    max_per_tag: StrictInt | None = Field(
        None, ge=1, le=MAX_K, description="At most this many videos sharing a first tag in the answer."
    )
    explore_share: StrictFloat | StrictInt | None = Field(
        None, ge=0, le=1, description="Share of the k slots given to videos with few training views."
    )


class RecommendRequest(_Request):
    """Recommendations for a known user, or for a new user described by features and/or a history.

    With both ``user_id`` and ``features``, a known user is served from their history and an unknown one
    from the features. ``history`` (newest last) adds to a known user's training views, or is the whole
    history of a new user.
    """

    user_id: RawId | None = Field(None, description="A user id known to the model.")
    features: Annotated[dict[str, FeatureValue], Field(max_length=1000)] | None = Field(
        None,
        description="Side features of a new user, by column (see GET /v1/model: user_features).",
        examples=[{"user_active_degree": "high_active", "follow_user_num": 12}],
    )
    k: StrictInt = Field(10, ge=1, le=MAX_K, description="Number of videos to return.")
    exclude_seen: StrictBool = Field(True, description="Drop videos the user viewed in training (known users).")
    candidates: Annotated[list[RawId], Field(max_length=MAX_ITEM_LIST)] | None = Field(
        None, description="Rank only these video ids (all must be in the catalogue)."
    )
    exclude: Annotated[list[RawId], Field(max_length=MAX_ITEM_LIST)] | None = Field(
        None, description="Video ids never to return (unknown ids are ignored)."
    )
    details: StrictBool = Field(False, description="Add each video's display features and predicted label.")
    history: Annotated[list[HistoryEntry], Field(max_length=MAX_HISTORY)] | None = Field(
        None, description="Recent views, newest last; they are never recommended back."
    )
    scoring: Text | None = Field(None, description="Ranking rule (GET /v1/model: scorings); the model's default.")
    rules: FeedRulesIn | None = Field(None, description="Feed rules for this request (tag cap, exploration).")

    @model_validator(mode="after")
    def _who(self) -> RecommendRequest:
        if self.user_id is None and self.features is None and self.history is None:
            raise ValueError("give user_id (a known user), features or history (a new user)")
        return self


class Pair(_Request):
    user_id: RawId
    item_id: RawId


class PredictRequest(_Request):
    """Predicted label (watch ratio) for (user, video) pairs."""

    pairs: Annotated[list[Pair], Field(min_length=1, max_length=MAX_PAIRS)]


class ReloadRequest(_Request):
    """Swap in another artifact; ``path`` is relative to the service's artifact root."""

    path: Annotated[str, StringConstraints(min_length=1, max_length=1024, strict=True)] | None = Field(
        None, description="Artifact directory relative to the artifact root; omit to reload the current one."
    )


class Event(_Request):
    """One impression: the video was shown to the user, who watched ``watch_ratio`` of it."""

    user_id: RawId = Field(description="Any user id; an unknown one becomes a user known by these events.")
    item_id: RawId = Field(description="A video in the catalogue (or registered with POST /v1/items).")
    watch_ratio: StrictFloat | StrictInt = Field(
        ge=0, le=1000, description="Play time over video length; 0 for an impression without a watch."
    )
    timestamp: StrictFloat | StrictInt | None = Field(None, description="Unix seconds of the view.")
    skipped: StrictBool = Field(False, description="The user swiped the video away (shown, not watched).")


class EventsRequest(_Request):
    """A batch of events, stored in one transaction and acknowledged once it is on disk."""

    events: Annotated[list[Event], Field(min_length=1, max_length=MAX_EVENTS)]


class EventsOut(BaseModel):
    count: int = Field(description="Events stored by this request.")
    last_event_id: int = Field(description="Store id of the batch's last event (ids only grow).")


class NewItem(_Request):
    item_id: RawId = Field(description="A video id not yet in the catalogue.")
    features: Annotated[dict[str, FeatureValue], Field(max_length=1000)] = Field(
        description="Side features by column (see GET /v1/model: item_features); absent columns are null."
    )


class NewItemsRequest(_Request):
    """New videos to register from their side features, without retraining."""

    items: Annotated[list[NewItem], Field(min_length=1, max_length=MAX_NEW_ITEMS)]


class NewItemsOut(BaseModel):
    count: int
    item_ids: list[int | str]
    n_items: int = Field(description="Catalogue size after the registration.")
    live_items: int = Field(description="Videos served that the artifact was not trained on.")


class ItemScore(BaseModel):
    item_id: int | str
    score: float
    prediction: float | None = Field(None, description="Predicted label; only with details, for regressing models.")
    features: dict[str, Any] | None = Field(None, description="Display features; only with details.")
    predicted_watch_ratio: float | None = Field(
        None,
        description="POST /v1/recommendations: the model's predicted label (watch ratio) for a regressing "
        "model and a known user; null otherwise.",
    )
    because: int | str | None = Field(
        None,
        description="POST /v1/recommendations: the history video most similar to this one (null without a "
        "history or item similarity).",
    )


class RecommendationsOut(BaseModel):
    user_id: int | str | None
    cold_start: bool
    model: str
    artifact_id: str
    k: int
    exclude_seen: bool
    items: list[ItemScore] = Field(description="Best first; fewer than k when fewer videos qualify.")
    live_events: int | None = Field(
        None,
        description="The user's stored events newer than the artifact, folded in now (GET with an event store "
        "and events for this user only; older events are in the model already).",
    )


class SimilarOut(BaseModel):
    item_id: int | str
    model: str
    artifact_id: str
    items: list[ItemScore]


class Prediction(BaseModel):
    user_id: int | str
    item_id: int | str
    prediction: float | None = Field(description="null when the user or video is unknown.")


class PredictionsOut(BaseModel):
    model: str
    artifact_id: str
    label: str
    predictions: list[Prediction]


class HealthOut(BaseModel):
    status: Literal["ok"]
    model: str
    artifact_id: str
    loaded_at: str = Field(description="When this worker loaded the artifact (UTC, ISO 8601).")
    n_items: int
    n_users: int
    retrieval: str = Field(description="How known users are ranked: exact, ann, or model.")
    pid: int
    events: bool = Field(False, description="Whether an event store is attached (the live feed is on).")
    live_items: int = Field(0, description="Videos registered with POST /v1/items and served now.")


class ModelOut(BaseModel):
    model: str
    artifact_id: str
    created: str | None
    params: dict[str, Any]
    regresses: bool
    supports_cold_start: bool
    has_similar: bool
    scorings: list[str] = Field(description="Ranking rules POST /v1/recommendations accepts (first: the default).")
    retrieval: str
    n_users: int
    n_items: int
    label: str
    user_features: dict[str, str] = Field(description="Cold-start feature columns and their kinds.")
    item_features: dict[str, str] = Field(
        default_factory=dict, description="Video feature columns POST /v1/items accepts, and their kinds."
    )
    supports_new_items: bool = False
    item_columns: list[str] = Field(description="Display features returned with details.")
    metrics: dict[str, Any]


class UsersOut(BaseModel):
    total: int
    offset: int
    users: list[int | str]


class HistoryItem(BaseModel):
    item_id: int | str
    label: float | None
    features: dict[str, Any] | None


class HistoryOut(BaseModel):
    user_id: int | str
    label: str
    items: list[HistoryItem] = Field(description="Most recent first.")


class ItemOut(BaseModel):
    item_id: int | str
    features: dict[str, Any] | None


class ReloadOut(BaseModel):
    previous_artifact_id: str
    artifact_id: str
    model: str
    path: str
    loaded_at: str
    load_seconds: float


class ErrorOut(BaseModel):
    detail: str


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationOut(BaseModel):
    detail: list[ValidationIssue]
