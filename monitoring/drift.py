"""Data drift of the UI features and of the score against `reference.json` (pure functions).

Magnitude: the Population Stability Index over the reference's quantile bins (a mass point such as
the zeros of an overdue amount has its own bin; binary features: the two bins 0 / 1), with the
credit-risk bands of `DriftConfig` (watch, drift); a binary feature's share of ones also has a rule
in percentage points (`share_band`), the worse band counts.
Significance: a two-sample Kolmogorov-Smirnov test against the reference sample (continuous) or a
chi-square goodness-of-fit test against the reference share of ones (binary).

A feature is flagged only when both agree: PSI at or above a band *and* a test p-value below
`alpha`. PSI alone wobbles with small samples (its expected value under no drift is about
(bins - 1) / n), and a test alone flags differences too small to matter on large samples.
Below `min_samples` values the verdict is "insufficient", never an alarm.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from scipy import stats

from scoring.reference import bin_index
from scoring.schema import SCORE_KEY, UI_FEATURE_NAMES
from scoring.stability import psi

STABLE = "stable"
WATCH = "watch"
DRIFT = "drift"
INSUFFICIENT = "insufficient"
STATUS_RANK = {INSUFFICIENT: 0, STABLE: 1, WATCH: 2, DRIFT: 3}


@dataclass(frozen=True)
class DriftConfig:
    psi_watch: float = 0.1
    psi_drift: float = 0.25
    alpha: float = 0.01  # significance the KS / chi-square test must reach to confirm a PSI band
    min_samples: int = 200  # below this many live values: "insufficient"
    epsilon: float = 1e-4  # floor on bin shares so that an empty bin does not make PSI infinite
    # A binary feature's share of ones moving by this many percentage points is watched / drifts,
    # whatever its PSI: a 15-point fall of a 70 % share has PSI 0.09998, under the watch band.
    share_points_watch: float = 5.0
    share_points_drift: float = 10.0


@dataclass(frozen=True)
class Onset:
    """Where a change inside the window began, and the drift measured from there on."""

    row: int  # the frame's row of the first call of the drifting segment
    time: str  # its timestamp, ISO 8601
    where: dict[str, Any]  # its file and line
    since: FeatureDrift


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one feature (or the score) against the reference."""

    status: str  # STABLE, WATCH, DRIFT or INSUFFICIENT
    kind: str | None = None  # the reference entry's kind ("binary", ...); None when absent from the reference
    n: int = 0  # live values
    n_missing: int = 0
    reference: float | None = None  # binary: the reference share of ones; else the reference mean
    live: float | None = None  # the same of the live values
    psi: float | None = None
    test: str | None = None  # "ks" or "chi2"
    p_value: float | None = None
    reason: str | None = None  # why the status is INSUFFICIENT
    onset: Onset | None = None

    @property
    def effective_status(self) -> str:
        """The worse of the status over the window and since the onset (see `worse_status`)."""
        return worse_status(self.status, self.onset.since.status if self.onset else None)

    def to_dict(self) -> dict[str, Any]:
        """The report's form (`analyse_logs.py --json`, the HTML page and the dashboard read it)."""
        if self.kind is None:
            return {"psi": self.psi, "status": self.status, "reason": self.reason}
        centre = "p1" if self.kind == "binary" else "mean"
        out = {"kind": self.kind, "n": self.n, "n_missing": self.n_missing, f"reference_{centre}": self.reference,
               f"live_{centre}": self.live, "psi": self.psi, "test": self.test, "p_value": self.p_value,
               "status": self.status}
        if self.reason is not None:
            out["reason"] = self.reason
        if self.onset is not None:
            since = self.onset.since
            out |= {"onset_row": self.onset.row, "onset": self.onset.time, "onset_where": self.onset.where,
                    "since_onset": {"n": since.n, "psi": since.psi, "p_value": since.p_value, "status": since.status}}
        return out


@dataclass(frozen=True)
class DriftVerdict:
    """One verdict for the whole input (see `dataset_verdict`)."""

    status: str
    drifted: list[str]  # input features whose effective status is DRIFT
    watched: list[str]
    score: str  # the score's effective status
    measured: int  # input features with enough values
    features: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def psi_band(value: float, config: DriftConfig = DriftConfig()) -> str:
    """The PSI band alone: stable < psi_watch <= watch < psi_drift <= drift."""
    if value >= config.psi_drift:
        return DRIFT
    if value >= config.psi_watch:
        return WATCH
    return STABLE


def share_band(reference_p1: float, live_p1: float, config: DriftConfig = DriftConfig()) -> str:
    """The band of a binary feature's move in percentage points of its share of ones."""
    points = abs(live_p1 - reference_p1) * 100
    if points >= config.share_points_drift:
        return DRIFT
    if points >= config.share_points_watch:
        return WATCH
    return STABLE


def binned_shares(entry: dict[str, Any], values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(reference shares, live counts) over the reference bins of one feature."""
    if entry["kind"] == "binary":
        p1 = float(entry["p1"])
        ones = float(np.sum(values >= 0.5))
        return np.array([1.0 - p1, p1]), np.array([values.size - ones, ones])
    edges = entry["edges"]
    counts = np.bincount(bin_index(edges, values), minlength=len(edges) + 1).astype(float)
    return np.asarray(entry["proportions"], dtype=float), counts


def feature_drift(entry: dict[str, Any], values: np.ndarray, config: DriftConfig = DriftConfig()) -> FeatureDrift:
    """Drift of one feature (or the score): PSI, its test, the verdict and a summary of the live values."""
    arr = np.asarray(values, dtype=float)
    present = arr[np.isfinite(arr)]
    reference = float(entry["p1"]) if entry["kind"] == "binary" else entry.get("mean")
    result = FeatureDrift(INSUFFICIENT, entry["kind"], int(present.size), int(arr.size - present.size), reference,
                          float(present.mean()) if present.size else None)
    if present.size < config.min_samples:
        return replace(result, reason=f"{present.size} values < {config.min_samples} needed")
    expected, counts = binned_shares(entry, present)
    value = psi(expected, counts, config.epsilon)
    test, p_value = _test(entry, present, expected, counts)
    band = psi_band(value, config)
    if entry["kind"] == "binary":
        band = max(band, share_band(float(entry["p1"]), float(np.mean(present >= 0.5)), config),
                   key=STATUS_RANK.__getitem__)
    status = band if band == STABLE or p_value < config.alpha else STABLE
    return replace(result, psi=round(value, 6), test=test, p_value=p_value, status=status)


def _test(entry: dict[str, Any], present: np.ndarray, expected: np.ndarray, counts: np.ndarray) -> tuple[str, float]:
    if entry["kind"] == "binary":
        p1 = float(entry["p1"])
        if p1 in (0.0, 1.0):  # a constant reference: any other value is a certain change
            return "chi2", 0.0 if counts[int(p1 == 0.0)] > 0 else 1.0
        result = stats.chisquare(counts, expected * counts.sum())
        return "chi2", float(result.pvalue)
    sample = np.asarray(entry.get("sample") or [], dtype=float)
    if sample.size == 0:
        return "chi2", float(stats.chisquare(counts, np.maximum(expected, 1e-12) * counts.sum()).pvalue)
    return "ks", float(stats.ks_2samp(present, sample).pvalue)


def drift_report(reference: dict[str, Any], columns: dict[str, np.ndarray],
                 config: DriftConfig = DriftConfig()) -> dict[str, FeatureDrift]:
    """Drift of every UI feature and of the score (`columns` maps names to live values)."""
    features = reference["features"]
    report: dict[str, FeatureDrift] = {}
    for name in (*UI_FEATURE_NAMES, SCORE_KEY):
        if name not in features:
            report[name] = FeatureDrift(INSUFFICIENT, reason="absent from reference.json")
            continue
        report[name] = feature_drift(features[name], columns.get(name, np.array([])), config)
    return report


def worse_status(status: str, since_onset: str | None) -> str:
    """The worse of a feature's status over the window and since the onset of a change inside it. The one
    status its drift alert, its row of the dashboard and the dataset verdict all read."""
    return max(status, since_onset or INSUFFICIENT, key=STATUS_RANK.__getitem__)


def dataset_verdict(report: dict[str, FeatureDrift], config: DriftConfig = DriftConfig()) -> DriftVerdict:
    """One verdict for the whole input, from each feature's effective status: "drift" when an input feature
    or the score drifts (exactly when the report has a drift alert), "watch", "stable" or "insufficient"."""
    statuses = {k: v.effective_status for k, v in report.items()}
    inputs = {k: v for k, v in statuses.items() if k != SCORE_KEY}
    drifted = sorted(k for k, v in inputs.items() if v == DRIFT)
    watched = sorted(k for k, v in inputs.items() if v == WATCH)
    measured = [k for k, v in inputs.items() if v != INSUFFICIENT]
    score_status = statuses.get(SCORE_KEY, INSUFFICIENT)
    if not measured and score_status == INSUFFICIENT:
        verdict = INSUFFICIENT
    elif drifted or score_status == DRIFT:
        verdict = DRIFT
    elif watched or score_status == WATCH:
        verdict = WATCH
    else:
        verdict = STABLE
    return DriftVerdict(verdict, drifted, watched, score_status, len(measured), len(inputs))


def drift_onset(entry: dict[str, Any], values: np.ndarray, segment: int,
                config: DriftConfig = DriftConfig()) -> int | None:
    """Start (row offset) of the first segment of `segment` consecutive values that drifts on its own."""
    segment = max(segment, config.min_samples)
    for start in range(0, max(0, values.size - segment + 1), segment):
        if feature_drift(entry, values[start:start + segment], config).status == DRIFT:
            return start
    return None
