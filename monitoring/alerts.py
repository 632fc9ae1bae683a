"""Operational alerts from the prediction log (pure functions over the reader's frame).

Every alert says what (`kind`, `message`), when (`start`, `end`), how bad (`value` against
`threshold`, `severity`) and where in the log (`where`: file and line of the first record
concerned, `last`: of the last one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from monitoring.drift import DRIFT, DriftConfig, FeatureDrift
from monitoring.labels_fr import corrupt_reason_fr
from monitoring.reader import LogData
from monitoring.records import CPU, DURATION, ERROR, HIGH_RISK, MEMORY, OUT_OF_RANGE, OVERRIDE, TIME
from monitoring.stats import out_of_range_stats
from monitoring.style import count_fr, fr, label_fr, p_clause

LATENCY = "latency"
LATENCY_TREND = "latency_trend"
CPU_KIND = "cpu"
MEMORY_KIND = "memory"
ERROR_RATE = "error_rate"
HIGH_RISK_SHARE = "high_risk_share"
DRIFT_KIND = "drift"
CORRUPT = "corrupt_lines"
OVERRIDE_RATE = "override_rate"
OUT_OF_RANGE_KIND = "out_of_range"
NAMES_FR = {CPU_KIND: "CPU", MEMORY_KIND: "Mémoire"}  # what `sustained_over` watches, in the French messages
WARNING = "warning"
CRITICAL = "critical"


@dataclass(frozen=True)
class AlertConfig:
    slow_call_s: float = 0.5  # any call slower than this is reported
    window: str = "15min"  # time buckets for the sustained checks (pandas offset)
    min_calls: int = 30  # a bucket with fewer calls is not judged
    latency_rise: float = 2.0  # a bucket's median latency this many times the log's median
    cpu_max: float = 90.0  # percent
    memory_max_mb: float = 1024.0
    min_consecutive: int = 3  # CPU / memory: this many calls in a row over the threshold
    error_rate_max: float = 0.05
    min_errors: int = 5  # an error-rate alert needs at least this many failed calls in the bucket
    high_risk_shift: float = 0.15  # absolute change of the high-risk share against the reference ...
    high_risk_z: float = 4.0  # ... that is also this many binomial standard errors away (not sampling noise)
    min_share_calls: int = 100  # a share is judged on buckets with at least this many decisions
    max_per_kind: int = 1000  # list at most this many alerts of one kind (the report counts the rest)
    corrupt_share_max: float = 0.01  # more corrupt lines than this share of the lines read (or no valid one)
    override_rate_max: float = 0.20  # advisers override the model on more than this share of their decisions ...
    min_decisions: int = 30  # ... judged over at least this many decisions
    challenger_disagreement_max: float = 0.10  # the challenger decides otherwise on more than this share ...
    min_shadowed: int = 100  # ... of at least this many calls it scored in the shadow
    out_of_range_share_max: float = 0.05  # scored calls with a value past the training range (+10 %) ...
    min_scored: int = 100  # ... judged over at least this many scored calls


@dataclass(frozen=True)
class Alert:
    """One alert: what, when, how bad, and where in the log."""

    kind: str
    severity: str  # WARNING or CRITICAL
    message: str
    start: str | None  # ISO 8601 time of the first call concerned
    end: str | None
    value: float  # the measure that crossed ...
    threshold: float  # ... this limit
    where: dict[str, Any]  # file and line of the first call concerned
    last: dict[str, Any] | None  # ... and of the last one
    calls: int  # calls concerned
    extra: dict[str, Any] = field(default_factory=dict)  # what a kind adds (`feature`, `reference_share`)

    def to_dict(self) -> dict[str, Any]:
        """The report's form (`analyse_logs.py --json`, the HTML page and the dashboard read it)."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "extra"}
        return out | self.extra


def alert(kind: str, data: LogData, first: int, last: int, value: float, threshold: float,
           message: str, severity: str = WARNING, **extra: Any) -> Alert:
    times = data.frame[TIME]
    return Alert(kind, severity, message, times.iat[first].isoformat(), times.iat[last].isoformat(),
                 round(float(value), 6), threshold, data.where(first), data.where(last), int(last - first + 1), extra)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) positions of each run of consecutive True values."""
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return []
    padded = np.concatenate(([False], m, [False])).astype(np.int8)
    diff = np.diff(padded)
    starts = np.flatnonzero(diff == 1)
    ends = np.flatnonzero(diff == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def slow_calls(data: LogData, config: AlertConfig = AlertConfig()) -> list[Alert]:
    """One alert per call slower than `slow_call_s`."""
    durations = data.frame[DURATION].to_numpy()
    alerts = []
    for row in np.flatnonzero(durations > config.slow_call_s):
        value = durations[row]
        severity = CRITICAL if value > 4 * config.slow_call_s else WARNING
        alerts.append(alert(LATENCY, data, row, row, value, config.slow_call_s,
                             f"call took {value:.3f} s (> {config.slow_call_s} s)", severity,
                             message_fr=f"appel de {fr(value)} s (seuil {fr(config.slow_call_s, 'g')} s)"))
    return alerts


def sustained_over(data: LogData, column: str, limit: float, kind: str, unit: str,
                   config: AlertConfig = AlertConfig()) -> list[Alert]:
    """One alert per run of at least `min_consecutive` calls with `column` over `limit`."""
    values = data.frame[column].to_numpy()
    unit_fr = "\u202f%" if unit == "%" else "\u202fMo" if unit.strip() == "MB" else unit
    alerts = []
    for first, last in runs(values > limit):
        if last - first + 1 < config.min_consecutive:
            continue
        peak = float(np.max(values[first:last + 1]))
        alerts.append(alert(kind, data, first, last, peak, limit,
                             f"{column} over {limit:g}{unit} for {last - first + 1} calls in a row "
                             f"(peak {peak:.1f}{unit})", CRITICAL if peak > 1.5 * limit else WARNING,
                             message_fr=f"{NAMES_FR.get(kind, column)} au-dessus de {fr(limit, ',g')}{unit_fr} pendant "
                             f"{count_fr(last - first + 1, 'appel')} de suite (pic {fr(peak, '.1f')}{unit_fr})"))
    return alerts


def _buckets(data: LogData, config: AlertConfig) -> pd.DataFrame:
    """Per time bucket: calls, first/last row, median latency, error and high-risk shares."""
    frame = data.frame
    rows = pd.Series(np.arange(len(frame)), index=frame.index)
    grouped = frame.groupby(frame[TIME].dt.floor(config.window), sort=True)
    out = pd.DataFrame({
        "calls": grouped.size(),
        "first": rows.groupby(frame[TIME].dt.floor(config.window)).min(),
        "last": rows.groupby(frame[TIME].dt.floor(config.window)).max(),
        "latency_p50": grouped[DURATION].median(),
        "errors": grouped[ERROR].sum(),
        "high_risk": grouped[HIGH_RISK].mean(),
        "labelled": grouped[HIGH_RISK].count(),
    })
    return out.reset_index(drop=True)


def _bucket_runs(buckets: pd.DataFrame, flagged: np.ndarray) -> list[tuple[int, int, pd.DataFrame]]:
    """Consecutive flagged buckets, merged: (first row, last row, the buckets)."""
    return [(int(buckets["first"].iat[a]), int(buckets["last"].iat[b]), buckets.iloc[a:b + 1])
            for a, b in runs(flagged)]


def latency_trend(data: LogData, config: AlertConfig, buckets: pd.DataFrame) -> list[Alert]:
    """Buckets whose median latency is `latency_rise` times the whole log's median, merged into runs."""
    baseline = float(np.nanmedian(data.frame[DURATION].to_numpy()))
    if not np.isfinite(baseline) or baseline <= 0:
        return []
    limit = config.latency_rise * baseline
    flagged = ((buckets["calls"] >= config.min_calls) & (buckets["latency_p50"] > limit)).to_numpy()
    return [alert(LATENCY_TREND, data, first, last, float(part["latency_p50"].max()), round(limit, 6),
                   f"median latency {part['latency_p50'].max():.3f} s, {config.latency_rise:g}x the usual "
                   f"{baseline:.3f} s, over {len(part)} window(s) of {config.window}",
                   message_fr=f"latence médiane {fr(part['latency_p50'].max())} s, {fr(config.latency_rise, 'g')} "
                   f"fois l'habituelle ({fr(baseline)} s), sur {count_fr(len(part), 'fenêtre')} de {config.window}")
            for first, last, part in _bucket_runs(buckets, flagged)]


def error_rate(data: LogData, config: AlertConfig, buckets: pd.DataFrame) -> list[Alert]:
    """Buckets whose share of failed calls exceeds `error_rate_max`, merged into runs."""
    rate = buckets["errors"] / buckets["calls"]
    flagged = ((buckets["calls"] >= config.min_calls) & (buckets["errors"] >= config.min_errors)
               & (rate > config.error_rate_max)).to_numpy()
    alerts = []
    for first, last, part in _bucket_runs(buckets, flagged):
        value = float(part["errors"].sum() / part["calls"].sum())
        alerts.append(alert(ERROR_RATE, data, first, last, value, config.error_rate_max,
                             f"{int(part['errors'].sum())} failed calls out of {int(part['calls'].sum())} "
                             f"({value:.1%} > {config.error_rate_max:.0%})",
                             CRITICAL if value > 4 * config.error_rate_max else WARNING,
                             message_fr=f"{count_fr(int(part['errors'].sum()), 'appel')} en échec sur "
                             f"{int(part['calls'].sum())} "
                             f"({fr(value, '.1%')}, seuil {fr(config.error_rate_max, '.0%')})"))
    return alerts


def high_risk_shift(data: LogData, config: AlertConfig, buckets: pd.DataFrame,
                    reference_share: float | None) -> list[Alert]:
    """Buckets whose share of high-risk decisions moved from the reference's, by `high_risk_shift` and by
    `high_risk_z` standard errors (a bucket of 40 calls wobbles by about 6 points on its own)."""
    if reference_share is None:
        return []
    shift = (buckets["high_risk"] - reference_share).abs()
    std_error = np.sqrt(max(reference_share * (1 - reference_share), 1e-6) / buckets["labelled"].clip(lower=1))
    flagged = ((buckets["labelled"] >= config.min_share_calls) & (shift > config.high_risk_shift)
               & (shift > config.high_risk_z * std_error)).to_numpy()
    parts = [(first, last, part) for first, last, part in _bucket_runs(buckets, flagged)]
    if not parts:  # buckets too small or each within bounds: judge the whole log once
        labelled = int(buckets["labelled"].sum())
        value = float((buckets["high_risk"] * buckets["labelled"]).sum() / max(labelled, 1))
        std_error = np.sqrt(max(reference_share * (1 - reference_share), 1e-6) / max(labelled, 1))
        gap = abs(value - reference_share)
        if labelled >= config.min_share_calls and gap > config.high_risk_shift and gap > config.high_risk_z * std_error:
            parts = [(0, len(data.frame) - 1, buckets)]
    alerts = []
    for first, last, part in parts:
        value = float((part["high_risk"] * part["labelled"]).sum() / part["labelled"].sum())
        alerts.append(alert(HIGH_RISK_SHARE, data, first, last, value, round(reference_share, 4),
                             f"high-risk share {value:.1%} against {reference_share:.1%} in the reference",
                             reference_share=reference_share,
                             message_fr=f"part de risque élevé {fr(value, '.1%')} contre {fr(reference_share, '.1%')} "
                             "dans la référence"))
    return alerts


def drift_alerts(data: LogData, drift: dict[str, FeatureDrift],
                 psi_drift: float = DriftConfig.psi_drift) -> list[Alert]:
    """One alert per feature (or score) that drifts over the window, or since the onset found for it."""
    alerts = []
    n = len(data.frame)
    for name, result in drift.items():
        if n == 0 or result.effective_status != DRIFT:
            continue
        first = result.onset.row if result.onset else 0
        if result.status == DRIFT:
            value, message = float(result.psi), f"{name}: PSI {result.psi:.3f} ({result.test} p={result.p_value:.1e})"
            message_fr = f"{label_fr(name)} : PSI {fr(result.psi)} (test {result.test}, {p_clause(result.p_value)})"
        else:
            recent = result.onset.since
            value = float(recent.psi)
            onset = pd.Timestamp(result.onset.time).strftime("%Y-%m-%d %H:%M UTC")
            message = (f"{name}: PSI {value:.3f} over the {recent.n} calls since {onset} "
                       f"({result.psi:.3f} over the whole window)")
            message_fr = (f"{label_fr(name)} : PSI {fr(value)} sur {count_fr(recent.n, 'appel')} depuis le {onset} "
                          f"({fr(result.psi)} sur toute la fenêtre)")
        alerts.append(alert(DRIFT_KIND, data, first, n - 1, value, psi_drift, message,
                             CRITICAL if value > 0.5 else WARNING, feature=name, message_fr=message_fr))
    return alerts


def out_of_range_share(data: LogData, config: AlertConfig = AlertConfig()) -> list[Alert]:
    """One alert when more than `out_of_range_share_max` of the scored calls (at least `min_scored`) had a
    value past the training range: the model then extrapolates for a share of the applicants it was never
    shown (scored, flagged at every door; serving.rules). Names the features flagged most."""
    found = out_of_range_stats(data.frame)
    if found["scored"] < config.min_scored or found["share"] <= config.out_of_range_share_max:
        return []
    flagged = np.flatnonzero(data.frame[OUT_OF_RANGE].notna().to_numpy())
    top = list(found["features"].items())[:3]
    return [alert(OUT_OF_RANGE_KIND, data, int(flagged[0]), int(flagged[-1]), found["share"],
                  config.out_of_range_share_max,
                  f"{found['calls']} of {found['scored']} scored calls had a value past the training range "
                  f"({found['share']:.1%} > {config.out_of_range_share_max:.0%}); most: "
                  + ", ".join(f"{name} ({n})" for name, n in top),
                  CRITICAL if found["share"] > 4 * config.out_of_range_share_max else WARNING,
                  message_fr=f"{count_fr(found['calls'], 'appel noté')} sur {fr(found['scored'], ',')} avec une "
                  f"valeur hors du domaine d'entraînement ({fr(found['share'], '.1%')}, seuil "
                  f"{fr(config.out_of_range_share_max, '.0%')}) ; surtout : "
                  + ", ".join(f"{label_fr(name)} ({n})" for name, n in top))]


def corrupt_lines(data: LogData, config: AlertConfig = AlertConfig()) -> list[Alert]:
    """One alert when more than `corrupt_share_max` of the lines are corrupt, or when none is a valid record:
    a log that cannot be read is not a quiet service."""
    total = data.n + data.corrupt_lines
    share = data.corrupt_lines / total if total else 0.0
    if not data.corrupt_lines or (data.n and share <= config.corrupt_share_max):
        return []
    first = data.corrupt_examples[0] if data.corrupt_examples else {"file": data.files[0], "line": None}
    times = data.frame[TIME]
    message = (f"{data.corrupt_lines} of {total} lines are corrupt ({share:.1%})"
               + ("; no valid record" if not data.n else "") + f": first {first.get('reason', 'unknown')}")
    return [Alert(CORRUPT, CRITICAL if not data.n or share > 0.5 else WARNING, message,
                  times.min().isoformat() if data.n else None, times.max().isoformat() if data.n else None,
                  round(share, 6), config.corrupt_share_max, {"file": first["file"], "line": first["line"]}, None, 0,
                  {"message_fr": f"{count_fr(data.corrupt_lines, 'ligne illisible')} sur {total} ({fr(share, '.1%')})"
                   + (" ; aucun enregistrement valide" if not data.n else "")
                   + f" : première cause, {corrupt_reason_fr(first.get('reason', ''))}"})]


def all_alerts(data: LogData, drift: dict[str, FeatureDrift], config: AlertConfig = AlertConfig(),
               reference_high_risk_share: float | None = None,
               psi_drift: float = DriftConfig.psi_drift) -> tuple[list[Alert], dict[str, int]]:
    """Every alert, by kind, capped at `max_per_kind` each; also the full count per kind."""
    unreadable = corrupt_lines(data, config)
    if data.frame.empty:
        return unreadable, {CORRUPT: 1} if unreadable else {}
    buckets = _buckets(data, config)
    checks: list[tuple[str, Callable[[], list[Alert]]]] = [
        (LATENCY, lambda: slow_calls(data, config)),
        (LATENCY_TREND, lambda: latency_trend(data, config, buckets)),
        (CPU_KIND, lambda: sustained_over(data, CPU, config.cpu_max, CPU_KIND, "%", config)),
        (MEMORY_KIND, lambda: sustained_over(data, MEMORY, config.memory_max_mb, MEMORY_KIND, " MB", config)),
        (ERROR_RATE, lambda: error_rate(data, config, buckets)),
        (HIGH_RISK_SHARE, lambda: high_risk_shift(data, config, buckets, reference_high_risk_share)),
        (DRIFT_KIND, lambda: drift_alerts(data, drift, psi_drift)),
        (OUT_OF_RANGE_KIND, lambda: out_of_range_share(data, config)),
        (CORRUPT, lambda: unreadable),
    ]
    alerts: list[Alert] = []
    counts: dict[str, int] = {}
    for kind, check in checks:
        found = check()
        if found:
            counts[kind] = len(found)
            alerts.extend(found[: config.max_per_kind])
    return alerts, counts


def override_rate(decisions: LogData, config: AlertConfig = AlertConfig()) -> list[Alert]:
    """One alert when the advisers overrode the model on more than `override_rate_max` of their decisions
    (`decisions`: the adviser-decision lines, see reader.split_calls), over at least `min_decisions`."""
    flags = decisions.frame[OVERRIDE].to_numpy(dtype=np.float64)
    n, overrides = len(flags), int(np.sum(flags == 1.0))
    rate = overrides / n if n else 0.0
    if not n or n < config.min_decisions or rate <= config.override_rate_max:
        return []
    return [alert(OVERRIDE_RATE, decisions, 0, n - 1, rate, config.override_rate_max,
                  f"advisers overrode the model on {overrides} of {n} decisions "
                  f"({rate:.1%} > {config.override_rate_max:.0%})",
                  CRITICAL if rate > 2 * config.override_rate_max else WARNING,
                  message_fr=f"les conseillers sont passés outre le modèle sur {overrides} de {n} décisions "
                  f"({fr(rate, '.1%')}, seuil {fr(config.override_rate_max, '.0%')})")]
