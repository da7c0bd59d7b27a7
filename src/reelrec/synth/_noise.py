"""Multiplicative watch-ratio noise with mean exactly 1, so the expected watch ratio is the truth."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class NoiseModel:
    """A mixture for ``observed / expected``: swipes, skips, partial views, full views and loops.

    Components, as shares of views:

    - ``zero``: swiped away at once, nothing played (watch ratio exactly 0);
    - ``skip``: left early, ``skip_max * U**2``;
    - ``complete``: watched about to the end, ``exp(mu + complete_shift + complete_sigma * N)``;
    - the rest, partial views: ``exp(mu - body_sigma * G)`` with ``G`` standard Gumbel, a long tail
      towards early exits and a short one above;
    - ``tail``: left looping, a Pareto(``tail_alpha``) from ``tail_min`` truncated at ``tail_max``.

    ``mu`` is solved so that the mixture's mean is exactly 1.
    """

    zero: float
    skip: float
    skip_max: float
    body_sigma: float
    complete: float
    complete_sigma: float
    complete_shift: float
    tail: float
    tail_min: float
    tail_alpha: float
    tail_max: float

    def _tail_mean(self) -> float:
        a, lo, hi = self.tail_alpha, self.tail_min, self.tail_max
        r = lo / hi
        return a * lo / (a - 1.0) * (1.0 - r ** (a - 1.0)) / (1.0 - r**a)

    @property
    def body(self) -> float:
        """Share of partial views."""
        return 1.0 - self.zero - self.skip - self.complete - self.tail

    @property
    def mu(self) -> float:
        """Common log-location of the partial and complete views that makes the mixture mean 1."""
        rest = self.skip * self.skip_max / 3.0 + self.tail * self._tail_mean()
        # E[exp(-s G)] = Gamma(1 + s) for a standard Gumbel G; E[exp(s N)] = exp(s^2 / 2).
        unit = self.body * math.exp(math.lgamma(1.0 + self.body_sigma)) + self.complete * math.exp(
            self.complete_shift + self.complete_sigma**2 / 2.0
        )
        return math.log((1.0 - rest) / unit)

    def sample(self, rng: np.random.Generator, n: int) -> NDArray[np.float64]:
        """``n`` independent multipliers (mean 1)."""
        mu = self.mu
        u = rng.random(n)
        out = np.exp(mu - self.body_sigma * rng.gumbel(size=n))
        edges = np.cumsum([self.zero, self.skip, self.complete])
        out[u < edges[0]] = 0.0
        skip = (u >= edges[0]) & (u < edges[1])
        out[skip] = self.skip_max * rng.random(int(skip.sum())) ** 2
        full = (u >= edges[1]) & (u < edges[2])
        out[full] = np.exp(mu + self.complete_shift + self.complete_sigma * rng.normal(size=int(full.sum())))
        tail = u >= 1.0 - self.tail
        r = (self.tail_min / self.tail_max) ** self.tail_alpha
        out[tail] = self.tail_min * (1.0 - rng.random(int(tail.sum())) * (1.0 - r)) ** (-1.0 / self.tail_alpha)
        return out


# Fitted (by simulation against the row-level expected ratios of a generated world) so that KuaiRec's
# published watch_ratio figures come out; see docs/synthetic-data.md. The small block's views are far less
# dispersed than the big matrix's (quartiles 0.47 / 1.12 against 0.31 / 1.18), hence its own mixture.
BIG_NOISE = NoiseModel(
    zero=0.0010, skip=0.042, skip_max=0.42, body_sigma=0.837, complete=0.374, complete_sigma=0.083,
    complete_shift=0.436, tail=0.0093, tail_min=5.79, tail_alpha=1.91, tail_max=150.0,
)
SMALL_NOISE = NoiseModel(
    zero=0.0003, skip=0.095, skip_max=0.65, body_sigma=0.282, complete=0.276, complete_sigma=0.244,
    complete_shift=0.153, tail=0.0096, tail_min=3.41, tail_alpha=1.68, tail_max=150.0,
)
