"""The two-tower's settings, in two kinds: hyperparameters (what is learned) and run options (how a fit runs).

Hyperparameters shape the learned model and are saved with it; run options (device, progress bars,
checkpoints, a wall-clock budget) only say how one fit runs and are never saved in an artifact, so
two identical models trained on different machines produce the same ``model.json``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Literal

from reelrec.training import resolve_device

#: Constructor options that say how a fit runs, not what it learns (left out of artifacts).
RUN_OPTIONS: tuple[str, ...] = ("device", "progress", "checkpoint_dir", "resume", "time_budget_s")
#: Ranking rules, the model's default first (see ``TwoTower``'s class doc).
SCORINGS: tuple[str, ...] = ("expected", "watch", "retrieval")
#: Accepted for the ``scoring`` hyperparameter: the rules, plus ``"auto"`` (= the first) from older artifacts.
SCORING_PARAM: tuple[str, ...] = ("auto", *SCORINGS)


@dataclass(frozen=True)
class TwoTowerConfig:
    """Every hyperparameter of :class:`~reelrec.models.TwoTower` (its constructor takes the same names).

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
        Adam(W) step size, rows per step (``"auto"``: about a sixteenth of the log, 1,024..65,536),
        decoupled weight decay.
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
    scoring : {"expected", "watch", "retrieval"}
        The default ranking rule (above); ``"auto"``, from older artifacts, means ``"expected"``.
    watch_weight : float or "auto"
        ``w`` of the ``expected`` score; ``"auto"`` picks it on the validation split.
    history_size : int
        Videos of the user's history averaged into the user tower per training step (0: no history).
    history_dropout : float
        Share of history entries dropped at random in training (denoising).
    history_labels : bool or "auto"
        Also read a bag of the history weighted by the user's standardised labels; ``"auto"``: when
        labels vary.
    session_prior : float
        Pseudo-views of the lifetime history when a session is mixed in (0: the session alone).
    user_ids : bool or "auto"
        Give users an id embedding; ``"auto"``: only without a history bag.
    id_buckets : int, "exact" or "none"
        Id embeddings: one row per training id (``"exact"``), hashed into this many buckets, or none.
        Row 0 is the out-of-vocabulary row used for ids never seen in training (and added videos).
    cold_fraction : float
        Share of users and videos per step that lose their id (users: and history) so the feature path
        and the out-of-vocabulary row learn to stand in for them (cold start, new videos).
    dropout : float
        Dropout after each hidden layer of the towers.
    normalize : bool
        L2-normalise retrieval embeddings (with a learned temperature) instead of raw dot products.
    validation_fraction, patience, lr_decay : float, int, float
        Per-user share of training pairs held out for early stopping and the held-out choices, epochs
        without improvement before stopping, learning-rate factor after such an epoch (1: constant).
    validation : {"auto", "random", "temporal"}
        Which pairs are held out: a random share per user, or those first seen after a time cutoff;
        ``"auto"`` follows the training data (``meta["validation"]``, set by the evaluation protocol).
    refit : bool or "auto"
        After early stopping, retrain on all pairs for the best number of epochs; ``"auto"``: logs
        under 2M pairs.
    residual : float, "auto" or "none"
        Closed-form ALS factorisation of the watch head's training residuals, added to the towers'
        prediction; ``"auto"`` picks its L2 penalty (or none) on the validation split.
    seed : int
        Every random draw of the fit.
    """

    embedding_size: int = 64
    hidden: tuple[int, ...] | None = None
    epochs: int = 100
    learning_rate: float = 0.003
    batch_size: int | Literal["auto"] = "auto"
    reg: float = 0.0
    loss: Literal["auto", "multitask", "retrieval", "regression"] = "auto"
    regression_weight: float = 1.0
    negatives: Literal["auto", "full", "in-batch", "sampled"] = "auto"
    n_negatives: int = 2048
    logq: bool = True
    mask_seen: bool = True
    target: Literal["auto", "log1p", "identity"] = "auto"
    scoring: str = "expected"
    watch_weight: float | Literal["auto"] = "auto"
    history_size: int = 64
    history_dropout: float = 0.0
    history_labels: bool | Literal["auto"] = "auto"
    session_prior: float = 1.0
    user_ids: bool | Literal["auto"] = "auto"
    id_buckets: int | Literal["exact", "none"] = "exact"
    cold_fraction: float = 0.05
    dropout: float = 0.2
    normalize: bool = False
    validation_fraction: float = 0.1
    patience: int = 5
    lr_decay: float = 1.0
    validation: Literal["auto", "random", "temporal"] = "auto"
    refit: bool | Literal["auto"] = "auto"
    residual: float | Literal["auto", "none"] = "auto"
    seed: int = 0

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TwoTowerConfig:
        """The hyperparameters among ``params`` (run options and unknown keys are ignored)."""
        kept = {k: params[k] for k in cls.names() if k in params}
        if isinstance(kept.get("hidden"), list):
            kept["hidden"] = tuple(kept["hidden"])
        return cls(**kept)

    @property
    def default_scoring(self) -> str:
        """The rule ``recommend`` uses when the caller names none (``"auto"`` is the first rule)."""
        return SCORINGS[0] if self.scoring == "auto" else self.scoring

    def check(self) -> None:
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
        for name in ("reg", "regression_weight", "session_prior"):
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
        _choice("scoring", self.scoring, SCORING_PARAM)
        _choice("refit", self.refit, (True, False, "auto"))
        _choice("validation", self.validation, ("auto", "random", "temporal"))
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
        if self.residual not in ("auto", "none"):
            _positive_float("residual", self.residual)

    def resolve_batch(self, n: int) -> int:
        """Rows per step; ``"auto"``: a sixteenth of the log as a power of two in 1,024..65,536.

        A step costs about the same for any batch once most users and videos appear in it (the towers
        run per unique entity), so batches grow with the log.
        """
        if self.batch_size != "auto":
            return int(self.batch_size)
        return int(min(65536, max(1024, 2 ** math.floor(math.log2(max(n, 1) / 16)))))


@dataclass(frozen=True)
class RunOptions:
    """How one fit runs: device, progress bars, per-epoch checkpoints and resuming, a wall-clock budget."""

    device: str = "auto"
    progress: bool | Literal["auto"] = "auto"
    checkpoint_dir: str | None = None
    resume: bool = False
    time_budget_s: float | None = None

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> RunOptions:
        return cls(**{k: params[k] for k in RUN_OPTIONS if k in params})

    def check(self) -> None:
        """Raise ``ValueError`` naming the first bad run option."""
        _choice("progress", self.progress, (True, False, "auto"))
        if self.time_budget_s is not None:
            _positive_float("time_budget_s", self.time_budget_s)
        resolve_device(self.device)


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
