"""The training-run configuration as pydantic models: what to fit, on which data, how, where."""

from __future__ import annotations

import inspect
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reelrec.models._base import Recommender
from reelrec.models._registry import DEFAULT_MODEL, canonical_name, model_class


class DataConfig(BaseModel):
    """Which data and which evaluation split.

    ``protocol="auto"`` means ``kuairec`` for KuaiRec-shaped data (a fully observed block exists) and
    ``holdout`` otherwise; ``"none"`` trains on every interaction and evaluates nothing.
    """

    model_config = ConfigDict(extra="forbid")

    path: str | None = None
    protocol: Literal["auto", "holdout", "kuairec", "none"] = "auto"
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    split: Literal["random", "temporal"] = "random"
    split_seed: int = 0
    min_interactions: int = Field(5, ge=1)
    cold_user_fraction: float = Field(0.0, ge=0.0, lt=1.0)
    duplicates: Literal["keep", "drop", "aggregate"] = "keep"
    clip: float | None = Field(5.0, gt=0.0)


class TrainingConfig(BaseModel):
    """How to run training; ``None`` keeps the model's own default for that option.

    The options reach the model as constructor parameters of the same name (when the model has one),
    so a config overrides ``params`` for these keys.
    """

    model_config = ConfigDict(extra="forbid")

    epochs: int | None = Field(None, ge=1)
    batch_size: int | None = Field(None, ge=1)
    learning_rate: float | None = Field(None, gt=0.0)
    patience: int | None = Field(None, ge=0)
    validation_fraction: float | None = Field(None, ge=0.0, lt=1.0)
    checkpoint_dir: str | None = None
    resume: bool = False
    progress: bool | Literal["auto"] = "auto"
    time_budget_s: float | None = Field(None, gt=0.0)


_TRAINING_KEYS = tuple(TrainingConfig.model_fields)


class RunConfig(BaseModel):
    """One training run: model name and hyperparameters, training options, data options, seed, device.

    Serialise with :meth:`to_json` (saved as ``config.json`` in the artifact); rebuild the model with
    :meth:`build_model`.
    """

    model_config = ConfigDict(extra="forbid")

    model: str = DEFAULT_MODEL
    params: dict[str, Any] = Field(default_factory=dict)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    seed: int = 0
    device: str = "auto"
    out: str | None = None

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        canonical_name(value)  # ValueError naming the choices
        return value

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        name = value.strip().lower()
        if name in ("auto", "cpu", "cuda") or (name.startswith("cuda:") and name[5:].isdigit()):
            return name
        raise ValueError(f"device {value!r}, expected 'auto', 'cpu', 'cuda' or 'cuda:N'")

    @model_validator(mode="after")
    def _known_params(self) -> RunConfig:
        accepted = _constructor_params(model_class(self.model))
        unknown = sorted(set(self.params) - set(accepted))
        if unknown:
            raise ValueError(
                f"params.{unknown[0]}: not a parameter of model {self.model!r}; "
                f"expected one of {', '.join(accepted) or '(none)'}"
            )
        return self

    def model_params(self) -> dict[str, Any]:
        """Constructor parameters: ``params``, then set training options, ``seed`` and ``device``."""
        accepted = _constructor_params(model_class(self.model))
        out = dict(self.params)
        # Only options set explicitly in [training] override params; unset ones keep the model's default.
        for key in _TRAINING_KEYS:
            value = getattr(self.training, key)
            if key in accepted and key in self.training.model_fields_set and value is not None:
                out[key] = value
        for key in ("seed", "device"):
            if key in accepted and key not in self.params:
                out[key] = getattr(self, key)
        return out

    def build_model(self) -> Recommender:
        """An unfitted model; parameter values are checked by the model's ``check_params`` when it has one.

        Raises
        ------
        ValueError
            Naming ``params.<name>`` when a value is rejected by the model.
        """
        cls = model_class(self.model)
        model = cls(**self.model_params())
        check = getattr(model, "check_params", None)
        if check is not None:
            try:
                check()
            except (TypeError, ValueError) as exc:
                raise ValueError(f"params: {exc}") from None
        return model

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict (round-trips through :meth:`from_json`)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunConfig:
        return cls.model_validate(data)


def _constructor_params(cls: type[Recommender]) -> list[str]:
    sig = inspect.signature(cls.__init__)
    return [
        name
        for name, p in sig.parameters.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
