"""The two-tower network: retrieval and watch-ratio heads trained at once; the model that streams and scales out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from reelrec.data._dataset import Dataset, FeatureTable
from reelrec.data._vocab import IdMap
from reelrec.models._base import Recommender
from reelrec.models._history import DEFAULT_HALF_LIFE, History
from reelrec.models._nn_data import Pairs, gather_ragged
from reelrec.models._space import Choice, Distribution, IntRange, LogUniform, Uniform
from reelrec.models._tt_config import RUN_OPTIONS, SCORINGS, RunOptions, TwoTowerConfig
from reelrec.models._tt_session import cold_factors, new_item_factors, session_factors
from reelrec.models._tt_source import MemorySource, PairSource
from reelrec.models._tt_state import Learned as _Learned
from reelrec.models._tt_state import TwoTowerState
from reelrec.models._tt_trainer import TwoTowerTrainer


class TwoTower(Recommender):
    """Two towers (user, video) over side features, id embeddings and the user's watch history.

    One network, two heads: the *retrieval* head (a softmax over videos: "which video will this user
    watch next") and the *watch* head (regresses the log watch ratio: "how long"). ``recommend``
    ranks by one rule, the same in evaluation and in serving, unless the call names another
    (``scoring=``; the model's default is its ``scoring`` hyperparameter):

    - ``"expected"`` (default): ``log P(next view = video) + w * log(predicted watch ratio)``, the
      softmax over the whole catalogue. Unit: with ``w = 1``, the natural log of the watch ratio the
      video is expected to earn on the user's next view; ``w`` (``watch_weight``) is chosen on the
      validation split. Chosen over the other rules on validation data (docs/models.md).
    - ``"watch"``: the predicted watch ratio itself (label units; a rating on explicit data).
    - ``"retrieval"``: the retrieval logit, ``log P(next view = video)`` up to a per-user constant.

    ``predict`` always returns the predicted watch ratio. A model without a watch head (implicit
    data) ranks by ``retrieval`` by default, one without a retrieval head by ``watch``; asking a model
    for a rule it has no head for raises ``ValueError``.

    Sessions (``recommend_session``): the recent views' recency-weighted bag joins the lifetime bag
    with weight ``W / (W + session_prior)`` (``W``: the session's total recency weight), so a few new
    views move even a user with thousands of lifetime views. New videos (``add_items``) are embedded
    by the item tower from their side features alone.

    Parameters: every hyperparameter is documented on :class:`TwoTowerConfig` (same names). The
    run options ``device`` (``"auto" | "cpu" | "cuda"``), ``progress``, ``checkpoint_dir``, ``resume``
    and ``time_budget_s`` (a wall-clock budget for the training loop) say how one fit runs
    (:class:`RunOptions`) and are never saved in an artifact.

    Stability: provisional.
    """

    name: ClassVar[str] = "two-tower"
    regresses: ClassVar[bool] = True
    supports_cold_start: ClassVar[bool] = True
    supports_new_items: ClassVar[bool] = True
    scorings: ClassVar[tuple[str, ...]] = SCORINGS
    #: Constructor options that say how to run a fit; artifacts leave them out.
    run_params: ClassVar[tuple[str, ...]] = RUN_OPTIONS

    state_: TwoTowerState
    loss_: _Learned[str] = _Learned()
    options_: _Learned[dict[str, Any]] = _Learned()
    history_: _Learned[list[dict[str, Any]]] = _Learned()
    refit_history_: _Learned[list[dict[str, Any]]] = _Learned()
    best_epoch_: _Learned[int | None] = _Learned()
    watch_weight_: _Learned[float] = _Learned()
    watch_tuning_: _Learned[dict[str, float]] = _Learned()
    residual_lambda_: _Learned[float | None] = _Learned()
    residual_scores_: _Learned[dict[str, float]] = _Learned()
    user_factors_: _Learned[NDArray[np.float32]] = _Learned()
    item_factors_: _Learned[NDArray[np.float32]] = _Learned()
    user_pipe_: _Learned[Any] = _Learned()
    item_pipe_: _Learned[Any] = _Learned()
    net_: _Learned[Any] = _Learned()

    def __init__(
        self,
        embedding_size: int = 64,
        hidden: list[int] | None = None,
        epochs: int = 100,
        learning_rate: float = 0.003,
        batch_size: int | Literal["auto"] = "auto",
        reg: float = 0.0,
        loss: Literal["auto", "multitask", "retrieval", "regression"] = "auto",
        regression_weight: float = 1.0,
        negatives: Literal["auto", "full", "in-batch", "sampled"] = "auto",
        n_negatives: int = 2048,
        logq: bool = True,
        mask_seen: bool = True,
        target: Literal["auto", "log1p", "identity"] = "auto",
        scoring: Literal["expected", "watch", "retrieval", "auto"] = "expected",
        watch_weight: float | Literal["auto"] = "auto",
        history_size: int = 64,
        history_dropout: float = 0.0,
        history_labels: bool | Literal["auto"] = "auto",
        session_prior: float = 1.0,
        user_ids: bool | Literal["auto"] = "auto",
        id_buckets: int | Literal["exact", "none"] = "exact",
        cold_fraction: float = 0.05,
        dropout: float = 0.2,
        normalize: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 5,
        lr_decay: float = 1.0,
        validation: Literal["auto", "random", "temporal"] = "auto",
        refit: bool | Literal["auto"] = "auto",
        residual: float | Literal["auto", "none"] = "auto",
        seed: int = 0,
        device: str = "auto",
        progress: bool | Literal["auto"] = "auto",
        checkpoint_dir: str | None = None,
        resume: bool = False,
        time_budget_s: float | None = None,
    ) -> None:
        self.embedding_size = embedding_size
        self.hidden = hidden
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.reg = reg
        self.loss = loss
        self.regression_weight = regression_weight
        self.negatives = negatives
        self.n_negatives = n_negatives
        self.logq = logq
        self.mask_seen = mask_seen
        self.target = target
        self.scoring = scoring
        self.watch_weight = watch_weight
        self.history_size = history_size
        self.history_dropout = history_dropout
        self.history_labels = history_labels
        self.session_prior = session_prior
        self.user_ids = user_ids
        self.id_buckets = id_buckets
        self.cold_fraction = cold_fraction
        self.dropout = dropout
        self.normalize = normalize
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.lr_decay = lr_decay
        self.validation = validation
        self.refit = refit
        self.residual = residual
        self.seed = seed
        self.device = device
        self.progress = progress
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.time_budget_s = time_budget_s

    @classmethod
    def fast_params(cls) -> dict[str, Any]:
        return {"embedding_size": 16, "hidden": [32], "epochs": 3, "history_size": 16, "progress": False}

    @classmethod
    def search_space(cls) -> dict[str, Distribution]:
        # The few options that move quality most; trials stay cheap through the tuner's time budget.
        return {
            "learning_rate": LogUniform(3e-4, 0.03),
            "embedding_size": Choice((32, 64, 128)),
            "epochs": IntRange(5, 50, log=True),
            "dropout": Uniform(0.0, 0.5),
        }

    @property
    def config(self) -> TwoTowerConfig:
        """The hyperparameters as one frozen, checked-on-demand object."""
        return TwoTowerConfig.from_params(self.get_params())

    @property
    def run_options(self) -> RunOptions:
        return RunOptions.from_params(self.get_params())

    def check_params(self) -> None:
        """Raise ``ValueError`` naming the first bad hyperparameter or run option."""
        self.config.check()
        self.run_options.check()

    # ------------------------------------------------------------------- fit
    def _fit(self, dataset: Dataset) -> None:
        self.check_params()
        cfg = self.config
        fraction = cfg.validation_fraction if cfg.patience > 0 else 0.0
        source = MemorySource(dataset, fraction, cfg.validation, cfg.seed)
        self.state_ = TwoTowerTrainer(cfg, self.run_options, self.name).fit(dataset, source)

    def fit_pairs(self, dataset: Dataset, source: PairSource) -> TwoTower:
        """Fit on ``source``'s pairs (e.g. a shard store's, see ``reelrec.scale.fit_store``) with
        ``dataset``'s features and id maps; the contract's seen matrix comes from the source."""
        self.check_params()
        self.users_, self.items_ = dataset.users, dataset.items
        self.seen_ = source.seen()
        self.item_popularity_ = np.asarray(self.seen_.sum(axis=0), dtype=np.float32).ravel()
        self.state_ = TwoTowerTrainer(self.config, self.run_options, self.name).fit(dataset, source)
        return self

    # --------------------------------------------------------------- scoring
    def _rule(self, scoring: str | None) -> str:
        """The rule a request ranks by: the named one, else the model's default (see the class doc)."""
        self._check_scoring(scoring)
        scorer = self.state_.scorer()
        if scoring is None:
            rule = self.config.default_scoring
            if rule != "retrieval" and not scorer.has_watch:
                return "retrieval"
            if rule != "watch" and not scorer.has_retrieval:
                return "watch"
            return rule
        if scoring != "retrieval" and not scorer.has_watch:
            raise ValueError(f"scoring={scoring!r} needs the watch head; this model was trained with loss='retrieval'")
        if scoring != "watch" and not scorer.has_retrieval:
            raise ValueError(
                f"scoring={scoring!r} needs the retrieval head; this model was trained with loss='regression'"
            )
        return scoring

    def _scores_for(self, uf: NDArray[np.float32], rule: str) -> NDArray[np.float32]:
        return self.state_.scorer().scores(uf, rule)

    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        return self._scores_for(self.user_factors_[users], self._rule(None))

    def _score_features(self, user_features: FeatureTable) -> NDArray[np.float32]:
        return self._scores_for(self._cold_factors(user_features), self._rule(None))

    def _scorers(
        self, candidates: ArrayLike | None, scoring: str | None = None
    ) -> tuple[Callable[[NDArray[np.int32]], NDArray[np.float32]], Callable[[FeatureTable], NDArray[np.float32]]]:
        """Score functions of the rule ``scoring`` names (the default when ``None``), whatever the candidates."""
        rule = self._rule(scoring)
        return (
            lambda users: self._scores_for(self.user_factors_[users], rule),
            lambda table: self._scores_for(self._cold_factors(table), rule),
        )

    def _cold_factors(self, table: FeatureTable) -> NDArray[np.float32]:
        return cold_factors(self.state_, table, len(table))

    def _score_sessions(
        self,
        users: NDArray[np.int32],
        histories: list[History],
        user_features: FeatureTable | None,
        scoring: str | None = None,
    ) -> NDArray[np.float32]:
        """Scores after folding each recent history into the user's state (see the class doc)."""
        rule = self._rule(scoring)
        uf = session_factors(
            self.state_, self.seen_, users, histories, user_features, float(self.session_prior), DEFAULT_HALF_LIFE
        )
        return self._scores_for(uf, rule)

    def _predict(self, users: NDArray[np.int32], items: NDArray[np.int32]) -> NDArray[np.float32]:
        if self.loss_ == "retrieval":
            raise NotImplementedError("two-tower trained with loss='retrieval' has no watch head to predict with")
        return self.state_.scorer().predict(self.user_factors_[users], self.item_factors_[items])

    def item_embeddings(self) -> NDArray[np.float32] | None:
        """Retrieval embeddings of every video (watch-head factors for a regression-only model)."""
        self._check_fitted()
        d, r = self.state_.net.layout.retrieval, self.state_.watch_dim
        return np.ascontiguousarray(self.item_factors_[:, :d] if d else self.item_factors_[:, :r])

    def user_embeddings(self) -> NDArray[np.float32]:
        """Retrieval-head vectors of every known user, shape (n_users, d) (do not modify)."""
        self._check_fitted()
        d = self.state_.net.layout.retrieval
        return self.user_factors_[:, :d] if d else self.user_factors_[:, : self.state_.watch_dim]

    # ------------------------------------------------------------- new items
    def _add_items(self, item_ids: NDArray, item_features: FeatureTable) -> NDArray[np.int32]:
        """Embed new videos with the item tower from their features (unknown id row); extend every item array."""
        state = self.state_
        factors = new_item_factors(state, item_features)
        start = len(self.items_)
        self.items_ = IdMap(np.concatenate([self.items_.raw_ids, self.items_.coerce(item_ids)]))
        state.item_factors = np.ascontiguousarray(np.vstack([state.item_factors, factors]), dtype=np.float32)
        seen = self.seen_
        self.seen_ = sp.csr_matrix((seen.data, seen.indices, seen.indptr), shape=(seen.shape[0], len(self.items_)))
        self.item_popularity_ = np.concatenate([self.item_popularity_, np.zeros(len(factors), np.float32)])
        state.changed()
        return np.arange(start, len(self.items_), dtype=np.int32)

    # ----------------------------------------------------------- persistence
    def _get_state(self) -> tuple[dict[str, NDArray], dict[str, Any]]:
        return self.state_.to_artifact()

    def _set_state(self, tensors: dict[str, NDArray], extra: dict[str, Any]) -> None:
        self.state_ = TwoTowerState.from_artifact(self.config, tensors, extra)


__all__ = ["Pairs", "TwoTower", "gather_ragged"]
