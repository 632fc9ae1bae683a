"""Reasons in the adviser's terms: exact TreeSHAP contributions turned into points of default
probability, restricted to what the caller gave, the rest summed into one line. No HTTP or UI code.

Points (docs/decisions.md, "Reasons in points of probability"): XGBoost adds log-odds, so a row's
contributions φ_i (log-odds) start from the base margin b (the bias column) and end at the margin
m = b + Σφ. Each feature receives the share φ_i / Σφ of the probability change sigmoid(m) − sigmoid(b),
i.e. φ_i times the slope of the sigmoid's secant between b and m. The points are exact and additive
(the base probability plus every point gives the score), keep the sign and the order of the log-odds
contributions, and cost one multiplication per feature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

N_REASONS = 3  # reasons listed on each side (pushing the risk up, pulling it down) for a full row
# Up to this many features given (the form's 11), every given feature is listed; past it, the
# N_REASONS strongest on each side, the others summed in one line.
MAX_LISTED = 11
REST_LABEL = "Autres informations (valeurs médianes)"  # features the caller did not give: training medians
UNLISTED_LABEL = "Autres informations du dossier"  # a full row's features not listed one by one
UNLISTED_GIVEN_LABEL = "Autres informations saisies"  # given features not listed (some others not given)
POINTS = 100.0  # percentage points per unit of probability


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x), without overflow."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def points_scale(base_margin: float, margin: float) -> float:
    """Percentage points of probability per log-odds unit for this row: 100 × the slope of the sigmoid's
    secant between the base margin and the row's margin (its tangent when they coincide)."""
    delta = margin - base_margin
    if abs(delta) < 1e-12:
        p = sigmoid(base_margin)
        return POINTS * p * (1.0 - p)
    return POINTS * (sigmoid(margin) - sigmoid(base_margin)) / delta


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 4x more (up to 11 per call)
class Reason:
    """One feature's effect on this applicant's risk."""

    feature: str
    label: str  # French name
    value: float | None  # the value used (None: missing)
    contribution: float  # log-odds (TreeSHAP); > 0 pushes the risk up
    points: float = 0.0  # percentage points of default probability (exact share of score − base)

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "label": self.label, "value": self.value,
                "contribution": round(self.contribution, 6), "contribution_points": round(self.points, 6)}


@dataclass(slots=True)
class Aggregate:
    """Several features summed into one line ("Autres informations …")."""

    label: str
    features: int  # how many
    contribution: float  # log-odds
    points: float  # percentage points

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "features": self.features, "contribution": round(self.contribution, 6),
                "contribution_points": round(self.points, 6)}


@dataclass(frozen=True, slots=True)
class Reasons:
    """What moved this applicant's risk from the base probability to the score, in one exact sum:
    `base_score` + Σ up + Σ down + rest + unlisted (in points / 100) = `score` (the model's, in float64)."""

    up: tuple[Reason, ...] = ()  # strongest first
    down: tuple[Reason, ...] = ()  # strongest first
    rest: Aggregate | None = None  # the features not given (training medians), in one line
    unlisted: Aggregate | None = None  # given features not listed, in one line
    base_score: float | None = None  # probability of default before any feature (sigmoid of the base margin)
    score: float | None = None  # sigmoid of the margin the contributions add up to (= the served score ± 1e-6)

    @property
    def aggregates(self) -> tuple[Aggregate, ...]:
        return tuple(a for a in (self.rest, self.unlisted) if a is not None)

    def total_points(self) -> float:
        """Σ of every point listed or aggregated: 100 × (score − base_score)."""
        return math.fsum([r.points for r in self.up + self.down] + [a.points for a in self.aggregates])

    def packed(self) -> tuple:
        """The reasons as one flat tuple of plain values, which the garbage collector stops tracking
        after one pass (a cache of thousands of evaluations then costs no collection time: `api.adviser`)."""
        out: list[Any] = [len(self.up), len(self.down)]
        for r in self.up + self.down:
            out += (r.feature, r.label, r.value, r.contribution, r.points)
        for a in (self.rest, self.unlisted):
            out += (None, None, None, None) if a is None else (a.label, a.features, a.contribution, a.points)
        out += (self.base_score, self.score)
        return tuple(out)

    @classmethod
    def unpacked(cls, packed: tuple) -> Reasons:
        """The `Reasons` of `packed()`."""
        n_up, n_down = packed[0], packed[1]
        reasons = [Reason(*packed[i:i + 5]) for i in range(2, 2 + 5 * (n_up + n_down), 5)]
        at = 2 + 5 * (n_up + n_down)
        rest, unlisted = (None if packed[j] is None else Aggregate(*packed[j:j + 4]) for j in (at, at + 4))
        return cls(tuple(reasons[:n_up]), tuple(reasons[n_up:]), rest, unlisted, packed[at + 8], packed[at + 9])

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"up": [r.as_dict() for r in self.up], "down": [r.as_dict() for r in self.down]}
        if self.base_score is not None:
            out |= {"rest": self.rest.as_dict() if self.rest else None,
                    "unlisted": self.unlisted.as_dict() if self.unlisted else None,
                    "base_score": self.base_score}
        return out


NO_REASONS = Reasons()


def reasons_of(contribs: np.ndarray, values: np.ndarray, features: list[str], labels: list[str],
               given: np.ndarray | None = None, per_side: int | None = None) -> Reasons:
    """The reasons of one row from its TreeSHAP contributions (n_features + 1, the bias last).

    `given`: column indices of the features the caller gave (None: all of them, e.g. a dossier's
    full row); only those are listed, the others summed into `rest`. `per_side`: how many to list
    on each side (default: every given feature up to MAX_LISTED given, else N_REASONS); the given
    features not listed are summed into `unlisted`.
    """
    phi = contribs[:-1]
    base_margin = float(contribs[-1])
    total = float(np.add.reduce(phi))  # `phi.sum()`, the same sum, without its Python wrapper (one call in 20 µs)
    scale = points_scale(base_margin, base_margin + total)
    n = len(phi)
    if given is None or len(given) == n:
        columns: list[int] | None = None
        pool, n_given, given_total, rest = phi, n, total, None
    else:
        index = np.asarray(given, dtype=np.intp)
        columns, pool = index.tolist(), phi[index]
        n_given, given_total = len(columns), float(np.add.reduce(pool))
        rest_total = total - given_total
        rest = Aggregate(REST_LABEL, n - n_given, rest_total, rest_total * scale)
    if per_side is None:
        per_side = n_given if n_given <= MAX_LISTED else N_REASONS
    up_pos, down_pos, strength_of = _strongest(pool, per_side)
    chosen = up_pos + down_pos  # positions in `pool`
    strength = [strength_of[j] for j in chosen]
    if columns is not None:
        chosen = [columns[j] for j in chosen]  # model columns
    shown = [shown_value(v) for v in map(values.item, chosen)]
    reasons = [Reason(features[i], labels[i], v, c, c * scale) for i, v, c in zip(chosen, shown, strength, strict=True)]
    up, down = tuple(reasons[:len(up_pos)]), tuple(reasons[len(up_pos):])
    unlisted = None
    if len(chosen) < n_given:
        left = given_total - math.fsum(strength)
        unlisted = Aggregate(UNLISTED_LABEL if rest is None else UNLISTED_GIVEN_LABEL, n_given - len(chosen), left,
                             left * scale)
    return Reasons(up, down, rest, unlisted, base_score=sigmoid(base_margin), score=sigmoid(base_margin + total))


def shown_value(v: float) -> float | None:
    """A float32 value as a reason shows it: its 7 significant digits (None: missing). A whole number under
    10^7 (flags, one-hot columns, counts, zero amounts: most of a form's values) is its own 7 digits: kept as is,
    without the formatting (~1 µs a value)."""
    if v.is_integer() and -1e7 < v < 1e7:
        return v
    return None if v != v else float(f"{v:.7g}")


def _strongest(pool: np.ndarray, k: int) -> tuple[list[int], list[int], dict[int, float] | list[float]]:
    """Positions in `pool` of its k largest positive and k most negative values, strongest first, and a
    position -> value look-up for them."""
    if k <= 0:
        return [], [], []
    m = len(pool)
    if m <= 2 * k:  # a few given features: plain Python
        values = pool.tolist()
        positions = range(m)
    else:  # only the k strongest on each side are sorted
        picked = np.argpartition(pool, (k - 1, m - k))
        picked = np.concatenate((picked[:k], picked[m - k:]))
        positions = picked.tolist()
        values = dict(zip(positions, pool[picked].tolist(), strict=True))
    order = sorted(positions, key=values.__getitem__)
    up = [j for j in reversed(order) if values[j] > 0][:k]
    down = [j for j in order if values[j] < 0][:k]
    return up, down, values
