"""The default recommender: a two-tower network trained for retrieval and watch-ratio regression at once."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import ArrayLike, NDArray

from reelrec.data._dataset import Dataset, FeatureTable
from reelrec.features import FeaturePipeline, hash_bucket
from reelrec.models._base import Recommender
from reelrec.models._nn_data import (
    Pairs,
    distinct_pairs,
    gather_ragged,
    temporal_validation_mask,
    validation_mask,
)
from reelrec.models._nn_inputs import SideInputs, SideShape, shape_of, side_inputs
from reelrec.models._nn_refine import choose_lambda, residual_mf
from reelrec.models._nn_scoring import expected_score, tune_watch_weight
from reelrec.models._nn_task import StepOptions, TwoTowerTask
from reelrec.models._nn_towers import TowerLayout, TwoTowerNet
from reelrec.models._space import Choice, Distribution, IntRange, LogUniform, Uniform
from reelrec.training import LoopOptions, TrainResult, adam, resolve_device, run_training

Scoring = Literal["auto", "retrieval", "watch", "expected"]
#: Validation users used to choose ``watch_weight="auto"`` (a sample bounds the cost on big logs).
_TUNE_USERS = 3000
#: ``candidates`` covering at most this share of the trained catalogue count as a shortlist (see ``scoring``).
SHORTLIST_SHARE = 0.5


class TwoTower(Recommender):
    """Two towers (user, video) over side features, id embeddings and the user's watch history.

    One network, two heads. The *retrieval* head is trained with a softmax over videos (the whole
    catalogue, the batch's videos with logQ correction, or a sample) and answers "which videos will
    this user watch"; the *watch* head regresses the (log) watch ratio and answers "how long". Ranking a
    sparse catalogue needs the first, ranking videos a user is sure to be shown needs the second; see
    ``scoring`` for how ``recommend`` combines them.

    Parameters
    ----------
    embedding_size : int
        Width of the retrieval embedding (the watch head has ``embedding_size // 2`` factors, plus as
        many again for the ALS residual).
    hidden : list of int or None
        Hidden layer widths of each tower's MLP (``None``: ``[256]``).
    epochs : int
        Upper bound on epochs; early stopping on the validation split usually ends sooner.
    learning_rate, batch_size, reg : float, int or "auto", float
        Adam(W) step size, rows per step (``"auto"``: about a sixteenth of the log, 1,024..65,536; a step
        costs about the same once most users and videos are in it), decoupled weight decay.
    loss : {"auto", "multitask", "retrieval", "regression"}
        ``"auto"`` = multitask when labels vary, retrieval for implicit data (a constant label).
    regression_weight : float
        Weight of the watch MSE against the retrieval cross-entropy in multitask training.
    negatives : {"auto", "full", "in-batch", "sampled"}
        Softmax candidates; ``"auto"`` = the full catalogue up to 20,000 videos, else in-batch.
    n_negatives : int
        Uniformly sampled extra candidates per step for ``negatives="sampled"``.
    logq : bool
        Subtract each candidate's log sampling probability (in-batch and sampled negatives).
    mask_seen : bool
        Leave the user's other training videos out of the softmax denominator.
    target : {"auto", "log1p", "identity"}
        Transform of the regressed label; ``"auto"`` = log1p for watch ratios.
    scoring : {"auto", "retrieval", "watch", "expected"}
        How ``recommend`` ranks. ``retrieval``: the retrieval logit (log-probability of a watch);
        ``watch``: predicted label; ``expected``: ``logit + watch_weight * log(predicted label)``.
        ``"auto"`` uses ``expected``, or ``watch`` when ``candidates`` is a shortlist (at most half of
        the trained catalogue: the caller knows those videos are shown, so only *how long* is left).
        Without a watch head every mode falls back to ``retrieval``, without a retrieval head to ``watch``.
    watch_weight : float or "auto"
        ``w`` of the ``expected`` score; ``"auto"`` picks it on the validation split.
    history_size : int
        Videos of the user's history averaged into the user tower per training step (0: no history).
    history_dropout : float
        Share of history entries dropped at random in training (denoising).
    history_labels : bool or "auto"
        Also read a bag of the history weighted by the user's standardised labels ("how much", not
        only "what"); ``"auto"``: when labels vary.
    user_ids : bool or "auto"
        Give users an id embedding; ``"auto"``: only without a history bag.
    id_buckets : int, "exact" or "none"
        Id embeddings: one row per training id (``"exact"``), hashed into this many buckets, or none.
        Row 0 is the out-of-vocabulary row used for ids never seen in training.
    cold_fraction : float
        Share of users and videos per step that lose their id (users: and history) so the feature path
        and the out-of-vocabulary row learn to stand in for them (cold start).
    dropout : float
        Dropout after each hidden layer of the towers (0.2: +0.005 NDCG@10 on MovieLens-100K, neutral on KuaiRec).
    normalize : bool
        L2-normalise retrieval embeddings (with a learned temperature) instead of raw dot products.
    validation_fraction, patience, lr_decay : float, int, float
        Per-user share of training pairs held out for early stopping, epochs without improvement before
        stopping, and the learning-rate factor applied after such an epoch (1: constant).
    validation : {"auto", "random", "temporal"}
        Which pairs are held out for early stopping: a random share per user, or the pairs first seen
        after a time cutoff; ``"auto"`` follows the training data (``meta["validation"]``, set by the
        evaluation protocol: temporal under a temporal split, so early stopping cannot look ahead).
    refit : bool or "auto"
        After early stopping, retrain on all pairs for the best number of epochs; ``"auto"`` does so for
        logs under 2M pairs (where the held-out share matters).
    residual : float, "auto" or "none"
        Closed-form ALS factorisation of the watch head's training residuals, added to the towers'
        prediction; ``"auto"`` picks its L2 penalty (or none) on the validation split.
    seed, device, progress, checkpoint_dir, resume, time_budget_s
        Randomness, ``"auto" | "cpu" | "cuda"``, progress bars, per-epoch checkpoints and resuming, and
        an optional wall-clock budget for the training loop.

    Stability: provisional.
    """

    name: ClassVar[str] = "two-tower"
    user_factors_: NDArray[np.float32]
    item_factors_: NDArray[np.float32]
    regresses: ClassVar[bool] = True
    supports_cold_start: ClassVar[bool] = True
    scorings: ClassVar[tuple[str, ...]] = ("auto", "expected", "watch", "retrieval")

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
        scoring: Scoring = "auto",
        watch_weight: float | Literal["auto"] = "auto",
        history_size: int = 64,
        history_dropout: float = 0.0,
        history_labels: bool | Literal["auto"] = "auto",
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

    # ------------------------------------------------------------ validation
    def check_params(self) -> None:
        """Raise ``ValueError`` naming the first bad hyperparameter."""
        _positive_int("embedding_size", self.embedding_size)
        _positive_int("epochs", self.epochs)
        if self.batch_size != "auto":
            _positive_int("batch_size", self.batch_size)
        if self.hidden is not None and (
            not isinstance(self.hidden, list | tuple) or not all(isinstance(h, int) and h > 0 for h in self.hidden)
        ):
            raise ValueError(f"hidden={self.hidden!r}, expected a list of positive layer widths or None")
        _positive_float("learning_rate", self.learning_rate)
        for name in ("reg", "regression_weight"):
            _nonneg_float(name, getattr(self, name))
        if self.watch_weight != "auto":
            _nonneg_float("watch_weight", self.watch_weight)
        _positive_float("lr_decay", self.lr_decay)
        if self.lr_decay > 1:
            raise ValueError(f"lr_decay={self.lr_decay!r}, must be in (0, 1]")
        for name in ("history_dropout", "cold_fraction", "dropout", "validation_fraction"):
            value = getattr(self, name)
            _nonneg_float(name, value)
            if value >= 1:
                raise ValueError(f"{name}={value!r}, must be in [0, 1)")
        _choice("loss", self.loss, ("auto", "multitask", "retrieval", "regression"))
        _choice("negatives", self.negatives, ("auto", "full", "in-batch", "sampled"))
        _choice("target", self.target, ("auto", "log1p", "identity"))
        _choice("scoring", self.scoring, ("auto", "retrieval", "watch", "expected"))
        _choice("refit", self.refit, (True, False, "auto"))
        _choice("validation", self.validation, ("auto", "random", "temporal"))
        _choice("progress", self.progress, (True, False, "auto"))
        _choice("history_labels", self.history_labels, (True, False, "auto"))
        _choice("user_ids", self.user_ids, (True, False, "auto"))
        _positive_int("n_negatives", self.n_negatives)
        if not isinstance(self.history_size, int) or self.history_size < 0:
            raise ValueError(f"history_size={self.history_size!r}, must be an integer >= 0")
        if not isinstance(self.patience, int) or self.patience < 0:
            raise ValueError(f"patience={self.patience!r}, must be an integer >= 0")
        if self.id_buckets not in ("exact", "none") and (
            isinstance(self.id_buckets, bool) or not isinstance(self.id_buckets, int) or self.id_buckets < 2
        ):
            raise ValueError(f"id_buckets={self.id_buckets!r}, expected 'exact', 'none' or an integer >= 2")
        if self.time_budget_s is not None:
            _positive_float("time_budget_s", self.time_budget_s)
        if self.residual not in ("auto", "none"):
            _positive_float("residual", self.residual)
        resolve_device(self.device)

    # ------------------------------------------------------------------- fit
    def _fit(self, dataset: Dataset) -> None:
        self.check_params()
        self._cache: dict[str, Any] = {}
        device = resolve_device(self.device)
        inter = dataset.interactions
        if not np.isfinite(inter.label).all():
            raise ValueError("interactions.label holds NaN or inf; clean the labels before fitting")
        pairs = distinct_pairs(inter, dataset.n_users, dataset.n_items)
        mode = self._resolve_loss(pairs.label)
        self.loss_ = mode
        self.target_ = self._resolve_target(dataset)
        z = self._transform(pairs.label)
        self.target_mean_, self.target_std_ = float(z.mean()), float(z.std()) or 1.0
        z = ((z - self.target_mean_) / self.target_std_).astype(np.float32)
        # Predictions stay inside the label range seen in training (no exp overflow, no absurd ratios).
        self.target_range_ = [float(z.min()), float(z.max())]

        rng = np.random.default_rng([self.seed, 7])
        fraction = self.validation_fraction if self.patience > 0 else 0.0
        how = dataset.meta.get("validation", "random") if self.validation == "auto" else self.validation
        if how == "temporal":
            val_mask = temporal_validation_mask(pairs, inter, fraction)
        else:
            val_mask = validation_mask(pairs, fraction, rng)
        train = pairs.take(~val_mask)
        val = pairs.take(val_mask) if val_mask.any() else None

        user_rows = np.flatnonzero(np.diff(pairs.indptr) > 0).astype(np.int32)
        item_rows = np.unique(pairs.item).astype(np.int32)
        users, items, step = self._setup_inputs(dataset, user_rows, item_rows, mode, len(train))
        torch.manual_seed(self.seed)
        self.net_ = self._build_net().to(device)
        val_z = z[val_mask] if val is not None else None
        train_z = z[~val_mask]
        task = TwoTowerTask(self.net_, users, items, train, train_z, train, train_z, step, device, val, val_z)
        result = self._train(task, device, self.epochs, dataset)
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.refit_history_: list[dict[str, Any]] = []
        # Held-out choices, made with the model that has not seen the validation pairs.
        self._export(task, len(users))
        self._choose_residual(train, train_z, val, val_z)
        self._choose_watch_weight(train, val, dataset)
        refit = self.refit if self.refit != "auto" else len(pairs) < 2_000_000
        if refit and val is not None and result.best_epoch is not None:
            # Same schedule, every pair: the held-out share matters on small logs.
            task = self._refit(
                lambda: TwoTowerTask(self.net_, users, items, pairs, z, pairs, z, step, device), result, device, dataset
            )
        else:
            # Serve with every training pair in the history, the held-out ones included.
            task = TwoTowerTask(self.net_, users, items, pairs, z, pairs, z, step, device)
        self._export(task, len(users))
        self._fit_residual(pairs, z)

    def fit_store(self, dataset: Dataset, store: Any) -> TwoTower:
        """Fit out of core: ``dataset``'s features and id maps, ``store``'s pairs streamed shard by shard.

        ``store`` is a :class:`reelrec.scale.ShardStore` indexed like ``dataset``. Differences from
        :meth:`fit`: a hashed validation split, no ALS residual (it needs every pair at once); see
        docs/scale-out.md. Returns ``self``.
        """
        from reelrec.scale._fit import fit_store

        return fit_store(self, dataset, store)

    def _refit(self, make_task: Callable[[], Any], result: TrainResult, device: torch.device, dataset: Dataset) -> Any:
        """Retrain a fresh network for the first run's best number of epochs, on its learning rates.

        ``make_task`` builds the task over every pair once the new network exists. Checkpoints of this
        phase go to a ``refit`` subfolder; resuming replays the (finished) first phase from its own.
        """
        torch.manual_seed(self.seed)
        self.net_ = self._build_net().to(device)
        task = make_task()
        schedule = [h["lr"] for h in result.history[: result.best_epoch]]
        sub = None if self.checkpoint_dir is None else str(Path(self.checkpoint_dir) / "refit")
        epochs = result.best_epoch
        assert epochs is not None  # the caller refits only after a run that recorded its best epoch
        refit = self._train(task, device, epochs, dataset, description="refit", schedule=schedule, checkpoints=sub)
        self.refit_history_ = refit.history
        return task

    def _setup_inputs(
        self,
        dataset: Dataset,
        user_rows: NDArray[np.int32],
        item_rows: NDArray[np.int32],
        mode: str,
        n_train: int,
    ) -> tuple[SideInputs, SideInputs, StepOptions]:
        """Fit the feature pipelines on the users and videos with training pairs; return both sides'
        inputs and the step options (shared by the in-memory and the out-of-core fit)."""
        self.user_pipe_ = _fit_pipeline(dataset.user_features, user_rows)
        self.item_pipe_ = _fit_pipeline(dataset.item_features, item_rows)
        use_user_ids = self.user_ids if self.user_ids != "auto" else self.history_size == 0
        user_ids, n_user_ids = self._id_codes(dataset.users.raw_ids, user_rows) if use_user_ids else (None, 0)
        item_ids, n_item_ids = self._id_codes(dataset.items.raw_ids, item_rows)
        self.user_shape_ = shape_of(self.user_pipe_, n_user_ids)
        self.item_shape_ = shape_of(self.item_pipe_, n_item_ids)
        self.n_history_ = dataset.n_items + 1 if self.history_size > 0 else 0
        taste = self.history_labels if self.history_labels != "auto" else mode != "retrieval"
        self.taste_ = bool(taste and self.n_history_)
        users = side_inputs(_transform(self.user_pipe_, dataset.user_features), dataset.n_users, user_ids)
        items = side_inputs(_transform(self.item_pipe_, dataset.item_features), dataset.n_items, item_ids)

        n_items = dataset.n_items
        negatives = self.negatives if self.negatives != "auto" else ("full" if n_items <= 20_000 else "in-batch")
        batch = self._resolve_batch(n_train)
        step = StepOptions(
            batch_size=batch,
            retrieval_weight=0.0 if mode == "regression" else 1.0,
            regression_weight=0.0 if mode == "retrieval" else (1.0 if mode == "regression" else self.regression_weight),
            negatives=negatives,
            n_negatives=self.n_negatives,
            logq=self.logq,
            history_size=self.history_size,
            history_dropout=self.history_dropout,
            cold_fraction=self.cold_fraction,
            mask_seen=self.mask_seen,
        )
        self.options_ = {
            "negatives": negatives,
            "batch_size": batch,
            "loss": mode,
            "target": self.target_,
            "user_ids": use_user_ids,
            "history_labels": self.taste_,
        }
        return users, items, step

    def _train(
        self,
        task: TwoTowerTask,
        device: torch.device,
        epochs: int,
        dataset: Dataset,
        description: str = "two-tower",
        schedule: list[float] | None = None,
        checkpoints: str | None = None,
    ) -> TrainResult:
        params = [p for p in self.net_.parameters() if p.requires_grad]
        optimizer = adam(params, self.learning_rate, self.reg)
        options = LoopOptions(
            epochs=epochs,
            seed=self.seed,
            patience=self.patience if task.val is not None else None,
            monitor="loss",
            progress=self.progress,
            checkpoint_dir=self.checkpoint_dir if description == "two-tower" else checkpoints,
            resume=self.resume,
            time_budget_s=self.time_budget_s,
            description=description,
            decay=self.lr_decay,
            lr_schedule=schedule,
        )
        fingerprint = {
            "model": self.name,
            "params": {k: v for k, v in self.get_params().items() if k not in _RUN_PARAMS},
            "n_users": dataset.n_users,
            "n_items": dataset.n_items,
            "n_rows": len(dataset.interactions),
        }
        return run_training(task, optimizer, device, options, fingerprint)

    def _choose_residual(
        self, train: Pairs, train_z: NDArray[np.floating], val: Pairs | None, val_z: NDArray[np.floating] | None
    ) -> None:
        """``residual="auto"``: the ALS penalty with the lowest held-out MSE (or none), then fit it on ``train``."""
        self.residual_scores_: dict[str, float] = {}
        self.residual_lambda_: float | None = None
        if self.loss_ == "retrieval" or self.residual == "none":
            return
        if self.residual != "auto":
            self.residual_lambda_ = float(self.residual)
            self._fit_residual(train, train_z)
        elif val is not None and val_z is not None:
            fit = (train.user, train.item, train_z - self._tower_watch(train.user, train.item))
            held = (val.user, val.item, val_z - self._tower_watch(val.user, val.item))
            lam, self.residual_scores_, factors = choose_lambda(
                fit, held, len(self.users_), len(self.items_), self._residual_dim(), seed=self.seed
            )
            if np.isfinite(lam):  # the search already fitted the chosen penalty on ``train``
                self.residual_lambda_ = lam
                self._add_residual(*factors)

    def _residual_dim(self) -> int:
        return max(self.net_.layout.regression, 1)

    def _tower_watch(self, user: NDArray[np.int32], item: NDArray[np.int32]) -> NDArray[np.float32]:
        """The towers' standardised watch prediction for aligned pairs (before any residual)."""
        d, r = self.net_.layout.retrieval, self.net_.layout.regression
        uf, itf = self.user_factors_[user], self.item_factors_[item]
        z = (uf[:, d : d + r] * itf[:, d : d + r]).sum(1) + uf[:, d + r] + itf[:, d + r]
        return (z + np.float32(self.net_.offset.item())).astype(np.float32)

    def _fit_residual(self, pairs: Pairs, z: NDArray[np.floating]) -> None:
        """Add the ALS factors of ``z - tower`` to the exported vectors (when a penalty was chosen)."""
        if self.residual_lambda_ is None:
            return
        resid = z - self._tower_watch(pairs.user, pairs.item)
        k = self._residual_dim()
        users, items = residual_mf(
            pairs.user, pairs.item, resid, len(self.users_), len(self.items_), k, self.residual_lambda_, seed=self.seed
        )
        self._add_residual(users, items)

    def _add_residual(self, users: NDArray[np.float32], items: NDArray[np.float32]) -> None:
        """Fold residual factors (``[p | c]``, ``[q | d]``) into the exported vectors."""
        k = users.shape[1] - 1
        self.user_factors_ = self._insert_residual(self.user_factors_, users)
        self.item_factors_ = self._insert_residual(self.item_factors_, items)
        self.watch_dim_ = self.net_.layout.regression + k
        self._cache = {}

    def _insert_residual(self, factors: NDArray[np.float32], res: NDArray[np.float32]) -> NDArray[np.float32]:
        """``[ret | g | b | rest]`` to ``[ret | g | p | b + c | rest]`` (tower factors, then residual)."""
        split = self.net_.layout.retrieval + self.net_.layout.regression
        k = res.shape[1] - 1
        out = np.concatenate([factors[:, :split], res[:, :k], factors[:, split:]], axis=1)
        out[:, split + k] += res[:, k]
        return np.ascontiguousarray(out, dtype=np.float32)

    @torch.no_grad()
    def _choose_watch_weight(self, train: Pairs, val: Pairs | None, dataset: Dataset) -> None:
        """``watch_weight="auto"``: the weight whose ``expected`` score ranks the held-out pairs best.

        The gain of a held-out pair is how far its label (watch ratio clipped to [0, 5], or rating)
        exceeds the training mean, 0 below it and for everything not watched: graded NDCG@10 over the
        whole catalogue, training items masked. Only better-than-usual outcomes count, which is what
        "relevant" means on both explicit ratings and watch ratios.
        """
        self.watch_tuning_: dict[str, float] = {}
        if self.watch_weight != "auto":
            self.watch_weight_ = float(self.watch_weight)
            return
        self.watch_weight_ = 1.0
        if self.loss_ != "multitask" or val is None:
            return
        label = np.clip(train.label, 0.0, 5.0) if self.target_ == "log1p" else train.label
        seen = sp.csr_matrix(
            (np.ones(len(train), np.float32), (train.user, train.item)), shape=(dataset.n_users, dataset.n_items)
        )
        self._tune_watch_weight(val.user, val.item, val.label, float(label.mean()), seen)

    def _tune_watch_weight(
        self,
        val_user: NDArray[np.int32],
        val_item: NDArray[np.int32],
        val_label: NDArray[np.float32],
        label_mean: float,
        seen: sp.csr_matrix,
        max_users: int = _TUNE_USERS,
    ) -> None:
        """Set ``watch_weight_`` from held-out pairs scored for up to ``max_users`` of their users.

        ``label_mean`` is the training mean of the (clipped) label; ``seen`` masks the training pairs.
        """
        users = np.unique(val_user).astype(np.int32)
        if len(users) > max_users:
            users = np.sort(np.random.default_rng([self.seed, 11]).choice(users, max_users, replace=False))
        uf = self.user_factors_[users]
        logits = self._scores_for(uf, "retrieval")
        predicted = self._inverse(self._scores_for(uf, "watch"))
        keep = np.isin(val_user, users)
        held = np.clip(val_label[keep], 0.0, 5.0) if self.target_ == "log1p" else val_label[keep]
        gain = np.maximum(held - label_mean, 0.0).astype(np.float32)
        gains = sp.csr_matrix(
            (gain, (np.searchsorted(users, val_user[keep]), val_item[keep])), shape=(len(users), self.n_items)
        )
        self.watch_weight_, self.watch_tuning_ = tune_watch_weight(logits, predicted, seen, gains, users)

    def _build_net(self) -> TwoTowerNet:
        d = self.embedding_size
        layout = TowerLayout(
            retrieval=d if self.loss_ != "regression" else 0,
            regression=max(d // 2, 1) if self.loss_ != "retrieval" else 0,
        )
        return TwoTowerNet(
            self.user_shape_,
            self.item_shape_,
            self.n_history_,
            layout,
            hidden=list(self.hidden) if self.hidden is not None else [256],
            id_dim=d,
            history_dim=d,
            dropout=self.dropout,
            normalize=self.normalize,
            taste=self.taste_,
        )

    def _resolve_loss(self, label: NDArray[np.float32]) -> str:
        if self.loss != "auto":
            return self.loss
        return "multitask" if len(label) and float(label.std()) > 1e-6 else "retrieval"

    def _resolve_target(self, dataset: Dataset) -> str:
        if self.target != "auto":
            return self.target
        return "log1p" if dataset.label_name == "watch_ratio" else "identity"

    def _resolve_batch(self, n: int) -> int:
        if self.batch_size != "auto":
            return int(self.batch_size)
        # A step costs about the same for any batch once most users and videos appear in it (the
        # towers run per unique entity), so batches grow with the log: 16+ steps per epoch, 1k..64k rows.
        return int(min(65536, max(1024, 2 ** math.floor(math.log2(max(n, 1) / 16)))))

    def _transform(self, label: NDArray[np.float32]) -> NDArray[np.float64]:
        wide = label.astype(np.float64)
        return np.log1p(np.maximum(wide, 0.0)) if self.target_ == "log1p" else wide

    def _inverse(self, z: NDArray[np.float32]) -> NDArray[np.float32]:
        lo, hi = self.target_range_
        raw = np.clip(z, lo, hi).astype(np.float32) * np.float32(self.target_std_) + np.float32(self.target_mean_)
        return np.expm1(raw) if self.target_ == "log1p" else raw

    def _id_codes(self, raw_ids: NDArray, train_rows: NDArray[np.int32]) -> tuple[NDArray[np.int64] | None, int]:
        """Id embedding rows: only ids with training pairs get one; the rest share row 0 (unknown)."""
        if self.id_buckets == "none":
            return None, 0
        n = len(raw_ids)
        codes = np.zeros(n, np.int64)
        if self.id_buckets == "exact":
            codes[train_rows] = train_rows.astype(np.int64) + 1
            return codes, n + 1
        codes[train_rows] = hash_bucket(raw_ids[train_rows], int(self.id_buckets), seed=self.seed)
        return codes, int(self.id_buckets)

    # ---------------------------------------------------------------- export
    @torch.no_grad()
    def _export(self, task: TwoTowerTask, n_users: int) -> None:
        """Precompute every user's and video's head vectors (serving is then two matrix products)."""
        self.net_.eval()
        self.user_factors_ = self._user_heads(task.full_user_vectors(torch.arange(n_users, device=task.device)))
        self.item_factors_ = self._item_heads(task.all_item_vectors())
        self.watch_dim_ = self.net_.layout.regression
        self._cache = {}

    def _user_heads(self, u: torch.Tensor) -> NDArray[np.float32]:
        d = self.net_.layout.retrieval
        r = self.net_.retrieval_user(u) if d else u[:, :0]
        return torch.cat([r, u[:, d:]], 1).float().cpu().numpy()

    def _item_heads(self, i: torch.Tensor) -> NDArray[np.float32]:
        d = self.net_.layout.retrieval
        r = self.net_.retrieval_item(i)[0] if d else i[:, :0]
        return torch.cat([r, i[:, d:]], 1).float().cpu().numpy()

    # --------------------------------------------------------------- scoring
    def _parts(self) -> dict[str, NDArray[np.float32]]:
        """Cached, contiguous pieces of the item matrix (cleared on fit and load)."""
        if not getattr(self, "_cache", None):
            d, r = self.net_.layout.retrieval, self.watch_dim_
            f = self.item_factors_
            self._cache = {
                "ret_t": np.ascontiguousarray(f[:, :d].T),
                "ret_b": np.ascontiguousarray(f[:, -1]),
                "reg_t": np.ascontiguousarray(f[:, d : d + r].T),
                "reg_b": np.ascontiguousarray(f[:, d + r]) + np.float32(self.net_.offset.item()),
            }
        return self._cache

    def _is_shortlist(self, candidates: ArrayLike | None) -> bool:
        """Whether ``candidates`` is a pre-selected shortlist rather than (most of) the catalogue."""
        if candidates is None:
            return False
        n_known = int((self.item_popularity_ > 0).sum())
        return len(np.unique(np.asarray(candidates))) <= SHORTLIST_SHARE * n_known

    def _mode(self, candidates: ArrayLike | None, scoring: str | None = None) -> str:
        has_ret, has_reg = self.loss_ != "regression", self.loss_ != "retrieval"
        mode = self.scoring if scoring is None else scoring
        if mode == "auto":
            mode = ("watch" if self._is_shortlist(candidates) else "expected") if has_reg else "retrieval"
        if mode in ("expected", "retrieval") and not has_ret:
            return "watch"
        if mode in ("expected", "watch") and not has_reg:
            return "retrieval"
        return mode

    def _scores_for(self, uf: NDArray[np.float32], mode: str) -> NDArray[np.float32]:
        parts = self._parts()
        d, r = self.net_.layout.retrieval, self.watch_dim_
        if mode == "retrieval":
            return uf[:, :d] @ parts["ret_t"] + parts["ret_b"]
        z = uf[:, d : d + r] @ parts["reg_t"] + parts["reg_b"] + uf[:, d + r : d + r + 1]
        if mode == "watch":
            return z
        logit = uf[:, :d] @ parts["ret_t"] + parts["ret_b"]
        return expected_score(logit, self._inverse(z), self.watch_weight_)

    def _score(self, users: NDArray[np.int32]) -> NDArray[np.float32]:
        return self._scores_for(self.user_factors_[users], self._mode(None))

    def _scorers(
        self, candidates: ArrayLike | None, scoring: str | None = None
    ) -> tuple[Callable[[NDArray[np.int32]], NDArray[np.float32]], Callable[[FeatureTable], NDArray[np.float32]]]:
        """Score functions in the mode ``scoring`` resolves to for these ``candidates`` (see the class doc)."""
        self._check_scoring(scoring)
        mode = self._mode(candidates, scoring)
        return (
            lambda users: self._scores_for(self.user_factors_[users], mode),
            lambda table: self._scores_for(self._cold_factors(table), mode),
        )

    def _score_features(self, user_features: FeatureTable) -> NDArray[np.float32]:
        return self._scores_for(self._cold_factors(user_features), self._mode(None))

    @torch.no_grad()
    def _cold_factors(self, table: FeatureTable) -> NDArray[np.float32]:
        enc = _transform(self.user_pipe_, table) if self.user_pipe_ is not None else None
        n = len(table)
        ids = np.zeros(n, np.int64) if self.user_shape_.n_ids else None
        x = side_inputs(enc, n, ids).to(self._net_device())
        heads = self._user_heads(self.net_.eval().user_vectors(x, None))
        extra = self.watch_dim_ - self.net_.layout.regression
        if extra:  # no logged views: the residual factors of a cold user are zero
            heads = self._insert_residual(heads, np.zeros((n, extra + 1), np.float32))
        return heads

    def _net_device(self) -> torch.device:
        return next(self.net_.parameters()).device

    def _predict(self, users: NDArray[np.int32], items: NDArray[np.int32]) -> NDArray[np.float32]:
        if self.loss_ == "retrieval":
            raise NotImplementedError("two-tower trained with loss='retrieval' has no watch head to predict with")
        d, r = self.net_.layout.retrieval, self.watch_dim_
        uf, itf = self.user_factors_[users], self.item_factors_[items]
        z = (uf[:, d : d + r] * itf[:, d : d + r]).sum(1) + uf[:, d + r] + itf[:, d + r]
        z = z + np.float32(self.net_.offset.item())
        return self._inverse(z.astype(np.float32))

    def item_embeddings(self) -> NDArray[np.float32] | None:
        """Retrieval embeddings of every video (watch-head factors for a regression-only model)."""
        self._check_fitted()
        d, r = self.net_.layout.retrieval, self.watch_dim_
        return np.ascontiguousarray(self.item_factors_[:, :d] if d else self.item_factors_[:, :r])

    def user_embeddings(self) -> NDArray[np.float32]:
        """Retrieval-head vectors of every known user, shape (n_users, d) (do not modify)."""
        self._check_fitted()
        d = self.net_.layout.retrieval
        return self.user_factors_[:, :d] if d else self.user_factors_[:, : self.watch_dim_]

    # ----------------------------------------------------------- persistence
    def _get_state(self) -> tuple[dict[str, NDArray], dict[str, Any]]:
        tensors = {f"net.{k}": v.detach().cpu().numpy() for k, v in self.net_.state_dict().items()}
        tensors["user_factors"] = self.user_factors_
        tensors["item_factors"] = self.item_factors_
        extra = {
            "loss": self.loss_,
            "target": self.target_,
            "target_mean": self.target_mean_,
            "target_std": self.target_std_,
            "target_range": self.target_range_,
            "user_shape": self.user_shape_.to_json(),
            "item_shape": self.item_shape_.to_json(),
            "n_history": self.n_history_,
            "taste": self.taste_,
            "user_pipeline": None if self.user_pipe_ is None else self.user_pipe_.to_json(),
            "item_pipeline": None if self.item_pipe_ is None else self.item_pipe_.to_json(),
            "options": self.options_,
            "history": self.history_,
            "best_epoch": self.best_epoch_,
            "watch_weight": self.watch_weight_,
            "watch_tuning": self.watch_tuning_,
            "watch_dim": self.watch_dim_,
            "residual_lambda": self.residual_lambda_,
            "residual_scores": self.residual_scores_,
        }
        return tensors, extra

    def _set_state(self, tensors: dict[str, NDArray], extra: dict[str, Any]) -> None:
        try:
            self.loss_ = extra["loss"]
            self.target_ = extra["target"]
            self.target_mean_ = float(extra["target_mean"])
            self.target_std_ = float(extra["target_std"])
            self.target_range_ = [float(v) for v in extra["target_range"]]
            self.user_shape_ = SideShape.from_json(extra["user_shape"])
            self.item_shape_ = SideShape.from_json(extra["item_shape"])
            self.n_history_ = int(extra["n_history"])
            self.taste_ = bool(extra["taste"])
            self.options_ = dict(extra.get("options", {}))
            self.history_ = list(extra.get("history", []))
            self.best_epoch_ = extra.get("best_epoch")
            self.watch_weight_ = float(extra["watch_weight"])
            self.watch_tuning_ = dict(extra.get("watch_tuning", {}))
            self.watch_dim_ = int(extra["watch_dim"])
            self.residual_lambda_ = extra.get("residual_lambda")
            self.residual_scores_ = dict(extra.get("residual_scores", {}))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"two-tower state is incomplete: missing {exc}") from None
        self.user_pipe_ = None if extra["user_pipeline"] is None else FeaturePipeline.from_json(extra["user_pipeline"])
        self.item_pipe_ = None if extra["item_pipeline"] is None else FeaturePipeline.from_json(extra["item_pipeline"])
        self.net_ = self._build_net()
        state = {k[4:]: torch.from_numpy(np.array(v)) for k, v in tensors.items() if k.startswith("net.")}
        self.net_.load_state_dict(state)
        self.net_.eval()
        self.user_factors_ = np.asarray(tensors["user_factors"], np.float32)
        self.item_factors_ = np.asarray(tensors["item_factors"], np.float32)
        self._cache = {}


_RUN_PARAMS = ("epochs", "progress", "checkpoint_dir", "resume", "time_budget_s", "device", "patience")


def _fit_pipeline(table: FeatureTable | None, rows: NDArray[np.int32]) -> FeaturePipeline | None:
    """A pipeline fitted on training entities, or ``None`` when the side has no usable feature column."""
    if table is None or not table.columns:
        return None
    return FeaturePipeline().fit(table, rows)


def _transform(pipe: FeaturePipeline | None, table: FeatureTable | None):
    if pipe is None or table is None:
        return None
    return pipe.transform(table)


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r}, must be an integer >= 1")


def _positive_float(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name}={value!r}, must be a number > 0")


def _nonneg_float(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0 or not math.isfinite(value):
        raise ValueError(f"{name}={value!r}, must be a number >= 0")


def _choice(name: str, value: Any, choices: tuple) -> None:
    if not any(value is c or (type(value) is type(c) and value == c) for c in choices):
        raise ValueError(f"{name}={value!r}, expected one of {', '.join(repr(c) for c in choices)}")


__all__ = ["Pairs", "TwoTower", "gather_ragged"]
