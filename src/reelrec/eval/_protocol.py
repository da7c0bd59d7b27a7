"""The evaluation protocol: the one place that turns a data source into test, validation and refit data.

Everything time-dependent lives here. Under the temporal protocol the training part's features are
rebuilt from data before the cutoff (KuaiRec's ``mean_*`` daily statistics stop the day before it),
so no statistic of the test period reaches a model; the validation split used for tuning and early
stopping is carved from the training part the same way, with features built before *its* cutoff.

Stability: provisional.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from reelrec._codeversion import code_version
from reelrec.data._dataset import Dataset
from reelrec.eval._fingerprint import dataset_fingerprint
from reelrec.eval._session_split import SessionSplit, session_split
from reelrec.eval._splits import Split, holdout_split, kuairec_split

#: Protocol names; ``auto`` is ``kuairec`` when the data has a fully observed block, else ``holdout``.
PROTOCOLS: tuple[str, ...] = ("auto", "kuairec", "holdout", "temporal", "none")
#: A loader: load options (``daily_until`` among them for KuaiRec) to a data set.
Loader = Callable[..., Dataset]
# KuaiRec's ``date`` columns are Beijing-time (UTC+8) day labels.
_BEIJING = dt.timezone(dt.timedelta(hours=8))


class EvalProtocol:
    """One data source and the settings of one evaluation protocol; builds every split from them.

    Parameters
    ----------
    data : path, Dataset or callable
        A data folder (loaded with ``load_dataset(data, **load_options)``), a loader called with
        load options (``daily_until=`` when features must be rebuilt), or a loaded data set. A
        loaded KuaiRec data set can be used under the temporal protocol only if its daily
        statistics already stop before the cutoff (it cannot be reloaded).
    protocol : {"auto", "kuairec", "holdout", "temporal", "none"}
        ``holdout``: random per-user holdout; ``temporal``: test = rows after a time cutoff;
        ``kuairec``: train on the big matrix, test on the fully observed block; ``none``: no test.
    split_mode : {"random", "temporal"}
        ``"temporal"`` turns a (resolved) ``holdout`` into ``temporal``, as ``data.split`` in configs.
    test_fraction, seed, min_interactions, cold_user_fraction
        Split settings (see :func:`reelrec.eval.holdout_split`, :func:`reelrec.eval.kuairec_split`).
    load_options : mapping, optional
        Options for ``load_dataset`` when ``data`` is a path.

    Stability: provisional.
    """

    def __init__(
        self,
        data: str | Path | Dataset | Loader,
        protocol: str = "auto",
        *,
        split_mode: str = "random",
        test_fraction: float = 0.2,
        seed: int = 0,
        min_interactions: int = 5,
        cold_user_fraction: float = 0.0,
        load_options: Mapping[str, Any] | None = None,
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol={protocol!r}, must be one of {', '.join(PROTOCOLS)}")
        if split_mode not in ("random", "temporal"):
            raise ValueError(f"split_mode={split_mode!r}, must be 'random' or 'temporal'")
        self.requested = protocol
        self.split_mode = split_mode
        self.test_fraction = float(test_fraction)
        self.seed = int(seed)
        self.min_interactions = int(min_interactions)
        self.cold_user_fraction = float(cold_user_fraction)
        self.load_options = dict(load_options or {})
        self._loaded: Dataset | None = data if isinstance(data, Dataset) else None
        self._loader: Loader | None = None
        if isinstance(data, str | Path):
            self._loader = _path_loader(Path(data), self.load_options)
        elif callable(data) and not isinstance(data, Dataset):
            self._loader = data
        elif not isinstance(data, Dataset):
            raise TypeError(f"data must be a path, a Dataset or a loader, got {type(data).__name__}")
        self._features: dict[int, Dataset] = {}

    # ------------------------------------------------------------------ the data
    @property
    def dataset(self) -> Dataset:
        """The whole data set as loaded (features over its whole period); loaded once."""
        if self._loaded is None:
            assert self._loader is not None  # one of the two is always set
            self._loaded = self._loader()
        return self._loaded

    @cached_property
    def name(self) -> str:
        """The resolved protocol: never ``auto``."""
        block = self.dataset.fully_observed
        has_block = block is not None and len(block) > 0
        if self.requested == "auto":
            name = "kuairec" if has_block else "holdout"
        elif self.requested == "kuairec" and not has_block:
            raise ValueError(
                f"protocol 'kuairec' needs a fully observed block (KuaiRec's small_matrix.csv); "
                f"data set {self.dataset.source!r} has none; use holdout or temporal"
            )
        else:
            name = self.requested
        return "temporal" if name == "holdout" and self.split_mode == "temporal" else name

    @classmethod
    def from_config(
        cls,
        data: str | Path | Dataset | Loader,
        config: Mapping[str, Any],
        load_options: Mapping[str, Any] | None = None,
    ) -> EvalProtocol:
        """The protocol a run configuration's ``[data]`` table names (keys as in ``reelrec.config.DataConfig``)."""
        return cls(
            data,
            str(config.get("protocol", "auto")),
            split_mode=str(config.get("split", "random")),
            test_fraction=float(config.get("test_fraction", 0.2)),
            seed=int(config.get("split_seed", 0)),
            min_interactions=int(config.get("min_interactions", 5)),
            cold_user_fraction=float(config.get("cold_user_fraction", 0.0)),
            load_options=load_options,
        )

    @cached_property
    def fingerprint(self) -> str:
        """Digest of the loaded data's content (see :func:`dataset_fingerprint`)."""
        return dataset_fingerprint(self.dataset)

    def record(self) -> dict[str, Any]:
        """What identifies the test split: protocol, settings that matter to it, data and code version.

        Two records compare equal only when the same code would carve the same training rows from
        the same data, which is what reusing a trained artifact requires.
        """
        out: dict[str, Any] = {"protocol": self.name, "cold_user_fraction": self.cold_user_fraction}
        if self.name in ("holdout", "temporal"):
            out.update(seed=self.seed, test_fraction=self.test_fraction, min_interactions=self.min_interactions)
        elif self.cold_user_fraction > 0:
            out.update(seed=self.seed)  # the block is the same for every seed; only the cold draw differs
        out.update(data_fingerprint=self.fingerprint, code_version=code_version("data", "eval"))
        return out

    # ---------------------------------------------------------------- the splits
    def split(self, seed: int | None = None) -> Split:
        """The test split (``seed`` overrides the protocol's, for repeated runs); ``params`` records
        the data fingerprint, and under ``temporal`` the day the features stop."""
        seed = self.seed if seed is None else int(seed)
        if self.name == "none":
            raise ValueError("protocol 'none' has no test split; choose auto, kuairec, holdout or temporal")
        if self.name == "kuairec":
            split = kuairec_split(self.dataset, cold_user_fraction=self.cold_user_fraction, seed=seed)
        else:
            split = self._holdout(self.dataset, seed)
        split.params["data_fingerprint"] = self.fingerprint
        return split

    def session_split(self, **options: Any) -> SessionSplit:
        """The session protocol's split: each user's latest views held out in time order.

        Built on the training pool (KuaiRec: the big matrix; its fully observed block is not used),
        whatever ``protocol`` says; ``options`` go to :func:`reelrec.eval.session_split`. Its
        validation split is ``session_split(split.train)``: the same carve inside the training part.
        """
        split = session_split(self.dataset, **options)
        split.params["data_fingerprint"] = self.fingerprint
        return split

    def validation_split(self, train: Split | Dataset, seed: int | None = None) -> Split:
        """A validation split carved from a test split's training part the way the test split was.

        ``temporal``: the training part's latest ``test_fraction`` of time, with features rebuilt
        before the validation cutoff. ``holdout``: a per-user random holdout of the training part.
        ``kuairec``: a per-user random holdout of the big matrix; the fully observed block is the
        test and the only unbiased block, and it covers the same days as the big matrix, so the
        validation, like the test, is a same-period (not a forecast) judgement. The validation
        draws use a seed derived from ``seed`` (default: the protocol's), distinct from the test's.

        Parameters
        ----------
        train : Split or Dataset
            A split from :meth:`split` (its ``train`` is used) or that training data set.
        """
        data = train.train if isinstance(train, Split) else train
        if data.users != self.dataset.users or data.items != self.dataset.items:
            raise ValueError("validation_split needs a training part of this protocol's data (other vocabularies)")
        seed = self.seed if seed is None else int(seed)
        derived = int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])
        if self.name == "none":
            raise ValueError("protocol 'none' has no test split to mirror; choose auto, kuairec, holdout or temporal")
        split = self._holdout(data, derived)
        split.params.update(validation_of=self.name, data_fingerprint=self.fingerprint)
        return split

    def refit_data(self) -> Dataset:
        """The data a deployed model is refitted on after the split's evaluation.

        Every interaction for ``holdout``, ``temporal`` and ``none`` (features over the whole
        period); the big matrix only for ``kuairec``: the fully observed block exists to evaluate
        and is never training data.
        """
        data = self.dataset
        meta = {**data.meta, "validation": "temporal" if self.name == "temporal" else "random"}
        if self.name == "kuairec":
            return data.with_interactions(data.interactions, fully_observed=None, truth=None, meta=meta)
        return data.with_interactions(data.interactions, meta=meta)

    def refit_changes_data(self, split: Split) -> bool:
        """False when the split's training part already is :meth:`refit_data` (kuairec, no cold users)."""
        return not (self.name == "kuairec" and len(split.cold_users) == 0)

    # ------------------------------------------------------------------ internals
    def _holdout(self, data: Dataset, seed: int) -> Split:
        """Per-user random holdout, or temporal (features rebuilt) under the temporal protocol."""
        mode: Literal["random", "temporal"] = "temporal" if self.name == "temporal" else "random"
        split = holdout_split(
            data,
            test_fraction=self.test_fraction,
            seed=seed,
            mode=mode,
            min_interactions=self.min_interactions,
            cold_user_fraction=self.cold_user_fraction,
        )
        if mode == "temporal":
            split = self._features_before(split)
        return split

    def _features_before(self, split: Split) -> Split:
        """``split`` with its training features rebuilt from the days before its cutoff.

        Only KuaiRec has time-dependent features (the ``mean_*`` daily statistics, recorded as
        ``daily_until`` in ``meta``); other data sets are returned unchanged. The cutoff's own day
        is excluded: its statistics count views after the cutoff.
        """
        meta = split.train.meta
        if meta.get("daily_until") is None:
            return split
        cutoff = dt.datetime.fromtimestamp(float(split.params["cutoff"]), _BEIJING).date()
        until = int((cutoff - dt.timedelta(days=1)).strftime("%Y%m%d"))
        if int(meta["daily_until"]) <= until:
            split.params["features_until"] = int(meta["daily_until"])
            return split
        if self._loader is None:
            raise ValueError(
                f"the temporal split's cutoff is on {cutoff:%Y%m%d}, but the given data set averages the daily "
                f"statistics up to {meta['daily_until']}: give the data path (or a loader) so the features can be "
                f"rebuilt up to {until}, or load with daily_until={until}"
            )
        rebuilt = self._rebuilt(until)
        if rebuilt.users != split.train.users or rebuilt.items != split.train.items:
            raise ValueError("reloading the data with daily_until gave other vocabularies; was the data edited?")
        keep = ("daily_until", "daily_from", "daily_rows_used", "daily_rows_total")
        train_meta = {**meta, **{k: rebuilt.meta.get(k) for k in keep}}
        train = split.train.with_interactions(
            split.train.interactions, item_features=rebuilt.item_features, meta=train_meta
        )
        params = {**split.params, "features_until": rebuilt.meta.get("daily_until", until)}
        return replace(split, train=train, params=params)

    def _rebuilt(self, until: int) -> Dataset:
        """The data loaded with daily statistics up to ``until`` (an explicit earlier ``daily_until`` wins)."""
        asked = self.load_options.get("daily_until")
        if asked is not None:
            until = min(until, int(str(asked).replace("-", "")))
        if until not in self._features:
            assert self._loader is not None
            self._features[until] = self._loader(daily_until=until)
        return self._features[until]


def _path_loader(path: Path, options: dict[str, Any]) -> Loader:
    def load(**extra: Any) -> Dataset:
        from reelrec.data import load_dataset

        return load_dataset(path, **{**options, **extra})

    return load
