"""The two-tower's fit, start to end, over any :class:`~reelrec.models._tt_source.PairSource`.

One path for in-memory and streamed pairs: resolve the loss and label scale, fit the feature
pipelines, train with early stopping, make the held-out choices (ALS residual, watch weight) with
vectors that have not seen the held-out pairs, refit on every pair, export the serving vectors.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray

from reelrec.data._dataset import Dataset, FeatureTable
from reelrec.features import FeaturePipeline, hash_bucket
from reelrec.models._nn_inputs import SideInputs, shape_of, side_inputs
from reelrec.models._nn_refine import choose_lambda
from reelrec.models._nn_scoring import tune_watch_weight
from reelrec.models._nn_task import StepOptions
from reelrec.models._nn_towers import TwoTowerNet
from reelrec.models._tt_config import RunOptions, TwoTowerConfig
from reelrec.models._tt_export import add_residual, export, fit_residual
from reelrec.models._tt_source import HeldOut, PairSource, ResidualPairs
from reelrec.models._tt_state import TwoTowerState, build_net
from reelrec.training import LoopOptions, TrainResult, adam, resolve_device, run_training

#: ``refit="auto"`` retrains on every pair below this many pairs (where the held-out share matters).
REFIT_PAIRS = 2_000_000


class _Clock:
    """Wall seconds of each phase of a fit, in order."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now


class TwoTowerTrainer:
    """Fits a :class:`TwoTowerState` from ``config`` (what to learn) and ``run`` (how to run)."""

    def __init__(self, config: TwoTowerConfig, run: RunOptions, name: str = "two-tower") -> None:
        self.config, self.run, self.name = config, run, name

    def fit(self, dataset: Dataset, source: PairSource) -> TwoTowerState:
        """Train on ``source``'s pairs with ``dataset``'s features and id maps."""
        cfg = self.config
        device = resolve_device(self.run.device)
        target = (
            cfg.target if cfg.target != "auto" else ("log1p" if dataset.label_name == "watch_ratio" else "identity")
        )
        stats = source.label_stats(target)
        loss = cfg.loss if cfg.loss != "auto" else ("multitask" if stats.raw_std > 1e-6 else "retrieval")
        scale = stats.scale(target)
        state, users, items, step = self._setup(dataset, source, loss, scale)
        state.options.update(source.facts)

        clock = _Clock()
        torch.manual_seed(cfg.seed)
        state.net = self._new_net(state, device)
        first = source.task(state.net, users, items, step, device, scale, validate=True)
        result = self._train(state.net, first, device, cfg.epochs, dataset)
        state.history, state.best_epoch = result.history, result.best_epoch
        clock.lap("training")
        # Held-out choices, made with vectors whose histories hold the training pairs only.
        export(state, first, dataset.n_users, dataset.n_items)
        pairs = source.residual_pairs(scale)
        self._choose_residual(state, pairs, dataset.n_users, dataset.n_items)
        self._choose_watch_weight(state, source.held_out(scale), dataset.n_users, dataset.n_items)
        clock.lap("choices")
        refit = cfg.refit if cfg.refit != "auto" else source.n_pairs() < REFIT_PAIRS
        if refit and first.val is not None and result.best_epoch is not None:
            # Same schedule on every pair: a fresh network for the first run's best number of epochs.
            torch.manual_seed(cfg.seed)
            state.net = self._new_net(state, device)
            final = source.task(state.net, users, items, step, device, scale, validate=False)
            schedule = [h["lr"] for h in result.history[: result.best_epoch]]
            sub = None if self.run.checkpoint_dir is None else str(Path(self.run.checkpoint_dir) / "refit")
            again = self._train(
                state.net, final, device, result.best_epoch, dataset, "refit", schedule=schedule, checkpoints=sub
            )
            state.refit_history = again.history
            clock.lap("refit")
        else:
            # Serve with every pair in the history, the held-out ones included.
            final = source.task(state.net, users, items, step, device, scale, validate=False)
        export(state, final, dataset.n_users, dataset.n_items)
        clock.lap("export")
        if pairs is not None and state.residual_lambda is not None:
            fit_residual(state, pairs.all.user, pairs.all.item, pairs.all_z, cfg.seed)
        clock.lap("residual")
        state.changed()
        # Where the fit's time went (validation passes are inside the training and refit loops).
        validation = sum(h["seconds"] - h.get("train_seconds", h["seconds"]) for h in state.history)
        state.options["fit_seconds"] = {**clock.laps, "of which validation": round(validation, 3)}
        return state

    # ------------------------------------------------------------------ set-up
    def _setup(
        self, dataset: Dataset, source: PairSource, loss: str, scale: Any
    ) -> tuple[TwoTowerState, SideInputs, SideInputs, StepOptions]:
        """Fit the feature pipelines on the users and videos with pairs; both sides' inputs; step options."""
        cfg = self.config
        user_rows, item_rows = source.entity_rows()
        user_pipe = _fit_pipeline(dataset.user_features, user_rows)
        item_pipe = _fit_pipeline(dataset.item_features, item_rows)
        use_user_ids = cfg.user_ids if cfg.user_ids != "auto" else cfg.history_size == 0
        user_ids, n_user_ids = id_codes(cfg, dataset.users.raw_ids, user_rows) if use_user_ids else (None, 0)
        item_ids, n_item_ids = id_codes(cfg, dataset.items.raw_ids, item_rows)
        n_history = dataset.n_items + 1 if cfg.history_size > 0 else 0
        taste = cfg.history_labels if cfg.history_labels != "auto" else loss != "retrieval"
        users = side_inputs(_transform(user_pipe, dataset.user_features), dataset.n_users, user_ids)
        items = side_inputs(_transform(item_pipe, dataset.item_features), dataset.n_items, item_ids)
        negatives = cfg.negatives if cfg.negatives != "auto" else ("full" if dataset.n_items <= 20_000 else "in-batch")
        batch = cfg.resolve_batch(source.n_train())
        step = StepOptions(
            batch_size=batch,
            retrieval_weight=0.0 if loss == "regression" else 1.0,
            regression_weight=0.0 if loss == "retrieval" else (1.0 if loss == "regression" else cfg.regression_weight),
            negatives=negatives,
            n_negatives=cfg.n_negatives,
            logq=cfg.logq,
            history_size=cfg.history_size,
            history_dropout=cfg.history_dropout,
            cold_fraction=cfg.cold_fraction,
            mask_seen=cfg.mask_seen,
        )
        user_shape, item_shape = shape_of(user_pipe, n_user_ids), shape_of(item_pipe, n_item_ids)
        taste = bool(taste and n_history)
        state = TwoTowerState(
            loss,
            scale,
            user_shape,
            item_shape,
            n_history,
            taste,
            user_pipe,
            item_pipe,
            net=None,  # type: ignore[arg-type]
        )
        state.options = {
            "negatives": negatives,
            "batch_size": batch,
            "loss": loss,
            "target": scale.target,
            "user_ids": use_user_ids,
            "history_labels": taste,
        }
        return state, users, items, step

    def _new_net(self, state: TwoTowerState, device: torch.device) -> TwoTowerNet:
        net = build_net(self.config, state.loss, state.user_shape, state.item_shape, state.n_history, state.taste)
        return net.to(device)

    def _train(
        self,
        net: TwoTowerNet,
        task: Any,
        device: torch.device,
        epochs: int,
        dataset: Dataset,
        description: str = "two-tower",
        schedule: list[float] | None = None,
        checkpoints: str | None = None,
    ) -> TrainResult:
        cfg, run = self.config, self.run
        optimizer = adam([p for p in net.parameters() if p.requires_grad], cfg.learning_rate, cfg.reg)
        options = LoopOptions(
            epochs=epochs,
            seed=cfg.seed,
            patience=cfg.patience if task.val is not None else None,
            monitor="loss",
            progress=run.progress,
            checkpoint_dir=run.checkpoint_dir if description == "two-tower" else checkpoints,
            resume=run.resume,
            time_budget_s=run.time_budget_s,
            description=description,
            decay=cfg.lr_decay,
            lr_schedule=schedule,
        )
        params = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("epochs", "patience", "session_prior")}
        params["hidden"] = None if cfg.hidden is None else list(cfg.hidden)
        fingerprint = {
            "model": self.name,
            "params": params,
            "n_users": dataset.n_users,
            "n_items": dataset.n_items,
            "n_rows": len(dataset.interactions),
        }
        return run_training(task, optimizer, device, options, fingerprint)

    # ------------------------------------------------------- held-out choices
    def _choose_residual(self, state: TwoTowerState, pairs: ResidualPairs | None, n_users: int, n_items: int) -> None:
        """``residual="auto"``: the ALS penalty with the lowest held-out MSE (or none), fitted on training pairs."""
        cfg = self.config
        if pairs is None or state.loss == "retrieval" or cfg.residual == "none":
            return
        if cfg.residual != "auto":
            state.residual_lambda = float(cfg.residual)
            fit_residual(state, pairs.train.user, pairs.train.item, pairs.train_z, cfg.seed)
        elif pairs.val is not None and pairs.val_z is not None:
            scorer = state.scorer()
            uf, itf = state.user_factors, state.item_factors
            t, v = pairs.train, pairs.val
            fit = (t.user, t.item, pairs.train_z - scorer.pair_z(uf[t.user], itf[t.item]))
            held = (v.user, v.item, pairs.val_z - scorer.pair_z(uf[v.user], itf[v.item]))
            dim = max(state.net.layout.regression, 1)
            lam, state.residual_scores, factors = choose_lambda(fit, held, n_users, n_items, dim, seed=cfg.seed)
            if np.isfinite(lam):  # the search already fitted the chosen penalty on the training pairs
                state.residual_lambda = lam
                add_residual(state, *factors)

    @torch.no_grad()
    def _choose_watch_weight(self, state: TwoTowerState, held: HeldOut | None, n_users: int, n_items: int) -> None:
        """``watch_weight="auto"``: the weight whose ``expected`` score ranks the held-out pairs best.

        The gain of a held-out pair is how far its label (watch ratio clipped to [0, 5], or rating)
        exceeds the training mean, 0 below it and for everything not watched: graded NDCG@10 over the
        whole catalogue, training items masked.
        """
        cfg = self.config
        state.watch_tuning = {}
        if cfg.watch_weight != "auto":
            state.watch_weight = float(cfg.watch_weight)
            return
        state.watch_weight = 1.0
        if state.loss != "multitask" or held is None or len(held.user) == 0:
            return
        users = np.unique(held.user).astype(np.int32)
        if len(users) > held.max_users:
            users = np.sort(np.random.default_rng([cfg.seed, 11]).choice(users, held.max_users, replace=False))
        scorer = state.scorer()
        uf = state.user_factors[users]
        logits, predicted = scorer.logits(uf), scorer.scores(uf, "watch")
        keep = np.isin(held.user, users)
        label = np.clip(held.label[keep], 0.0, 5.0) if state.scale.target == "log1p" else held.label[keep]
        gain = np.maximum(label - held.label_mean, 0.0).astype(np.float32)
        rows = np.searchsorted(users, held.user[keep])
        gains = sp.csr_matrix((gain, (rows, held.item[keep])), shape=(len(users), n_items))
        state.watch_weight, state.watch_tuning = tune_watch_weight(logits, predicted, held.seen, gains, users)
        state.changed()


def id_codes(
    cfg: TwoTowerConfig, raw_ids: NDArray, train_rows: NDArray[np.int32]
) -> tuple[NDArray[np.int64] | None, int]:
    """Id embedding rows: only ids with training pairs get one; the rest share row 0 (unknown)."""
    if cfg.id_buckets == "none":
        return None, 0
    n = len(raw_ids)
    codes = np.zeros(n, np.int64)
    if cfg.id_buckets == "exact":
        codes[train_rows] = train_rows.astype(np.int64) + 1
        return codes, n + 1
    codes[train_rows] = hash_bucket(raw_ids[train_rows], int(cfg.id_buckets), seed=cfg.seed)
    return codes, int(cfg.id_buckets)


def _fit_pipeline(table: FeatureTable | None, rows: NDArray[np.int32]) -> FeaturePipeline | None:
    """A pipeline fitted on training entities, or ``None`` when the side has no usable feature column."""
    if table is None or not table.columns:
        return None
    return FeaturePipeline().fit(table, rows)


def _transform(pipe: FeaturePipeline | None, table: FeatureTable | None) -> Any:
    if pipe is None or table is None:
        return None
    return pipe.transform(table)
