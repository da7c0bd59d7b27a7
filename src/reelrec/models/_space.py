"""Search-space distributions that models declare next to their hyperparameters (``search_space()``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def _round(value: float, digits: int = 3) -> float:
    """``value`` to ``digits`` significant digits: tables stay readable and JSON stays exact."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _check_range(low: float, high: float, positive: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)) or low > high or (positive and low <= 0):
        need = "0 < low <= high" if positive else "low <= high"
        raise ValueError(f"range ({low}, {high}) is not valid: need finite bounds with {need}")


@dataclass(frozen=True)
class LogUniform:
    """A float spread evenly in ``log`` between ``low`` and ``high`` (penalties, learning rates)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_range(self.low, self.high, positive=True)

    def sample(self, rng: Any) -> float:
        return _round(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))

    def describe(self) -> str:
        return f"log-uniform [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Uniform:
    """A float spread evenly between ``low`` and ``high`` (dropout, shares)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_range(self.low, self.high, positive=False)

    def sample(self, rng: Any) -> float:
        return _round(rng.uniform(self.low, self.high))

    def describe(self) -> str:
        return f"uniform [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class IntRange:
    """An integer in ``[low, high]``, spread evenly or (``log=True``) evenly in ``log`` (sizes)."""

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        _check_range(self.low, self.high, positive=self.log)

    def sample(self, rng: Any) -> int:
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            return min(self.high, int(value))
        return int(rng.integers(self.low, self.high + 1))

    def describe(self) -> str:
        return f"{'log-' if self.log else ''}int [{self.low}, {self.high}]"


@dataclass(frozen=True)
class Choice:
    """One of a few values (JSON-friendly: numbers, strings, booleans)."""

    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("Choice needs at least one value")

    def sample(self, rng: Any) -> Any:
        return self.values[int(rng.integers(len(self.values)))]

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


Distribution = LogUniform | Uniform | IntRange | Choice
