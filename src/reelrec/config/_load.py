"""Read a run configuration from TOML and ``key.sub=value`` overrides, with errors naming the field."""

from __future__ import annotations

import inspect
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reelrec.config._schema import RunConfig
from reelrec.models._registry import model_class


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"training.epochs=5"`` into ``(["training", "epochs"], 5)``.

    The value is read as a TOML value (``5``, ``0.01``, ``true``, ``"x"``, ``[1, 2]``); anything that
    is not valid TOML is taken as a plain string, so ``params.loss=retrieval`` works unquoted.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"override {text!r} must look like key.sub=value")
    parts = key.split(".")
    if any(not p.strip() for p in parts):
        raise ValueError(f"override {text!r}: empty component in key {key!r}")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return [p.strip() for p in parts], value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """A copy of ``data`` with each override applied in order (later ones win)."""
    out = _deep_copy(data)
    for text in overrides:
        parts, value = parse_override(text)
        node = out
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                where = ".".join(parts[: i + 1])
                raise ValueError(f"override {text!r}: {where} is a value, not a table")
            node = child
        node[parts[-1]] = value
    return out


def load_config(
    path: str | Path | None = None, overrides: Iterable[str] = (), default_model: str | None = None
) -> RunConfig:
    """Build a :class:`RunConfig` from a TOML file (optional) and overrides.

    ``default_model`` replaces the registry default when neither the file nor an override names a
    model (out-of-core and multi-process runs default to the model that trains that way).

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        When the TOML does not parse, or a field is unknown or invalid; the message names the file and
        the field (``training.epochs: Input should be greater than or equal to 1``).
    """
    data: dict[str, Any] = {}
    source = "config"
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist")
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML ({exc})") from None
    overrides = list(overrides)
    data = apply_overrides(data, overrides)
    if default_model is not None:
        data.setdefault("model", default_model)
    config = validate_config(data, source)
    _refuse_ignored(config, overrides)
    return config


def _refuse_ignored(config: RunConfig, overrides: list[str]) -> None:
    """A ``training.<option>`` override reaches the model only if its constructor takes that option;
    for any other model it would do nothing, so it is an error rather than silently dropped."""
    accepted = set(config.model_params()) | set(inspect.signature(model_class(config.model).__init__).parameters)
    for text in overrides:
        parts, _ = parse_override(text)
        if parts[0] == "training" and len(parts) == 2 and parts[1] not in accepted:
            raise ValueError(
                f"override {text!r}: model {config.model!r} has no {parts[1]!r} option, so it would be ignored"
            )


def validate_config(data: dict[str, Any], source: str = "config") -> RunConfig:
    """Validate a plain dict; errors become one ``ValueError`` listing each bad field by its dotted path."""
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{source}: {format_errors(exc)}") from None


def format_errors(exc: ValidationError) -> str:
    """``field.path: message (got value)`` for every error, joined by ``; ``."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        msg = err["msg"].removeprefix("Value error, ")
        if msg.startswith("params."):
            lines.append(msg)
            continue
        got = err.get("input")
        shown = f" (got {got!r})" if err["type"] not in ("missing",) and not isinstance(got, dict) else ""
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        lines.append(f"{where}: {msg}{shown}")
    return "; ".join(lines)


def _deep_copy(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in data.items()}
