"""Simulated prediction traffic as log records: arrival times, scripted incidents, rejected requests,
and the records written to a log file."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from monitoring.applicants import draw_features, scores_for
from monitoring.outcomes import DATE, DEFAULTED
from scoring.master_scale import LETTERS, grade_index
from scoring.schema import (
    ID_COLUMN,
    SOURCE_DOSSIER,
    STATUS_ERROR,
    STATUS_OK,
    UI_FEATURE_NAMES,
    UI_FEATURES_BY_NAME,
    LogRecord,
    label_for,
    prediction_for,
)

DEFAULT_THRESHOLD = 0.5  # used only when the model folder has no threshold.json
PROGRESS_FROM = 50_000  # show progress bars (stderr) from this many calls


@dataclass
class Incidents:
    """Scripted trouble. Positions are record indices (see `resolve_position` for times)."""

    drift: dict[str, float] = field(default_factory=dict)  # feature -> shift (continuous: in std; binary: of p1)
    drift_from: int = 0
    slow_calls: int = 0  # number of calls slower than 0.5 s, placed in bursts
    burst_size: int = 5
    slow_seconds: tuple[float, float] = (0.6, 3.0)
    latency_factor: float = 1.0  # every call from latency_from on is this many times slower
    latency_from: int = 0
    cpu_spikes: int = 0  # number of runs of `spike_length` calls at 92-100 % CPU
    memory_spikes: int = 0  # number of runs of `spike_length` calls with 1.2-1.6 GB more memory
    spike_length: int = 10
    error_rate: float = 0.0  # share of bad requests from errors_from on
    errors_from: int = 0


@dataclass
class Traffic:
    """Generated calls, and where the incidents landed (so tests can check each is reported)."""

    records: list[LogRecord]
    slow_rows: list[int]
    cpu_rows: list[int]
    memory_rows: list[int]
    error_rows: list[int]
    inputs: pd.DataFrame


def resolve_position(text: str | None, times: pd.DatetimeIndex) -> int:
    """A record index from an index ("500"), a fraction of the traffic ("0.5") or an ISO 8601 time."""
    if text is None or text == "":
        return 0
    try:
        value = float(text)
    except ValueError:
        moment = pd.Timestamp(text)
        moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
        return int(np.searchsorted(times.asi8, moment.value))
    if 0 < value < 1:
        return int(value * len(times))
    if value < 0 or value != int(value):
        raise ValueError(f"{text!r}: expected an index (>= 0), a fraction in (0, 1) or an ISO 8601 time")
    return int(value)


def timestamps(n: int, start: datetime, span: timedelta, rng: np.random.Generator) -> pd.DatetimeIndex:
    """Arrival times of `n` calls spread at random (a Poisson process) over `span` from `start`."""
    offsets = np.sort(rng.random(n)) * span.total_seconds()
    return pd.DatetimeIndex(pd.Timestamp(start) + pd.to_timedelta(offsets, unit="s"))


def _runs_at(rng: np.random.Generator, n: int, count: int, length: int, taken: set[int]) -> list[int]:
    """Rows of `count` runs of `length` consecutive calls, not overlapping `taken` or each other."""
    rows: list[int] = []
    if count <= 0 or n < length:
        return rows
    for _ in range(count):
        for _attempt in range(100):
            start = int(rng.integers(0, n - length + 1))
            block = range(start, start + length)
            if not taken.intersection(range(start - 1, start + length + 1)):
                taken.update(block)
                rows.extend(block)
                break
    return sorted(rows)


def generate(reference: dict[str, Any], n: int, *, seed: int = 0, threshold: float = DEFAULT_THRESHOLD,
             incidents: Incidents | None = None, start: datetime | None = None,
             span: timedelta = timedelta(hours=2), model_version: str = "simulated",
             first_applicant_id: int | None = None) -> Traffic:
    """`n` log records of realistic traffic with the given incidents. With `first_applicant_id`, the scored
    calls are dossier look-ups of applicants numbered from it (what outcomes are joined by)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    inc = incidents or Incidents()
    rng = np.random.default_rng(seed)
    start = start or (datetime.now(UTC) - span)
    times = timestamps(n, start, span, rng)
    inputs = draw_features(reference, n, rng)
    if inc.drift and inc.drift_from < n:
        shifted = draw_features(reference, n - inc.drift_from, rng, inc.drift)
        inputs = pd.concat([inputs.iloc[: inc.drift_from], shifted], ignore_index=True)
    scores = scores_for(reference, inputs, rng)

    durations = rng.lognormal(math.log(0.035), 0.35, n)  # median 35 ms; P(> 0.5 s) ~ 1e-14
    durations[inc.latency_from:] *= inc.latency_factor
    cpu = np.clip(20 + 8 * rng.standard_normal(n), 1.0, 85.0)
    memory = np.clip(420 + np.cumsum(rng.normal(0, 0.3, n)) + rng.normal(0, 4, n), 300.0, 900.0)

    taken: set[int] = set()
    bursts = math.ceil(inc.slow_calls / max(1, inc.burst_size)) if inc.slow_calls else 0
    slow_rows = _runs_at(rng, n, bursts, min(inc.burst_size, inc.slow_calls), taken)[: inc.slow_calls]
    durations[slow_rows] = rng.uniform(*inc.slow_seconds, len(slow_rows))
    cpu_rows = _runs_at(rng, n, inc.cpu_spikes, inc.spike_length, taken)
    cpu[cpu_rows] = rng.uniform(92, 100, len(cpu_rows))
    memory_rows = _runs_at(rng, n, inc.memory_spikes, inc.spike_length, taken)
    memory[memory_rows] += rng.uniform(1200, 1600, len(memory_rows))
    failing = np.zeros(n, dtype=bool)
    failing[inc.errors_from:] = rng.random(max(0, n - inc.errors_from)) < inc.error_rate
    failing[sorted(taken)] = False  # keep incidents apart so each is reported as what it is
    error_rows = np.flatnonzero(failing).tolist()

    request_ids = [rng.bytes(8).hex() for _ in range(n)]
    stamps = times.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    rows = inputs.to_dict("records")
    records = []
    for i in tqdm(range(n), desc="simulating calls", unit="call", disable=n < PROGRESS_FROM, file=sys.stderr):
        given = {k: (int(v) if UI_FEATURES_BY_NAME[k].binary else round(float(v), 6)) for k, v in rows[i].items()}
        if failing[i]:
            bad = bad_request(given, rng)
            records.append(LogRecord(stamps[i], request_ids[i], bad[0], None, round(float(durations[i]) / 10, 6),
                                     round(float(cpu[i]), 1), round(float(memory[i]), 1), model_version,
                                     STATUS_ERROR, bad[1]))
            continue
        score = float(scores[i])
        records.append(LogRecord(stamps[i], request_ids[i], given,
                                 {"score": round(score, 6), "label": label_for(score, threshold),
                                  "decision": prediction_for(score, threshold)},
                                 round(float(durations[i]), 6), round(float(cpu[i]), 1), round(float(memory[i]), 1),
                                 model_version, STATUS_OK,
                                 source=None if first_applicant_id is None else SOURCE_DOSSIER,
                                 applicant_id=None if first_applicant_id is None else first_applicant_id + i))
    return Traffic(records, slow_rows, cpu_rows, memory_rows, error_rows, inputs)


def bad_request(given: dict[str, Any], rng: np.random.Generator) -> tuple[dict[str, Any], str]:
    """A rejected request: a feature missing, out of range, or not a number; and the API's message."""
    bad = dict(given)
    name = UI_FEATURE_NAMES[int(rng.integers(len(UI_FEATURE_NAMES)))]
    kind = int(rng.integers(3))
    feature = UI_FEATURES_BY_NAME[name]
    if kind == 0:
        del bad[name]
        return bad, f"{name}: field required"
    if kind == 1:
        bad[name] = feature.maximum * 3 + 1
        return bad, f"{name}: {bad[name]} is outside the allowed range"
    bad[name] = "abc"
    return bad, f"{name}: expected a number, got a string"


def write_log(path: Path, records: list[LogRecord], append: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a" if append else "w", encoding="utf-8") as fh:
        for record in tqdm(records, desc=f"writing {path.name}", unit="line", disable=len(records) < PROGRESS_FROM,
                           file=sys.stderr):
            fh.write(record.to_json())
            fh.write("\n")


OUTCOME_DELAY = timedelta(days=365)  # a default is known about a year after the decision


def outcomes_for(records: list[LogRecord], seed: int = 0, default_factor: float = 1.0,
                 delay: timedelta = OUTCOME_DELAY, grade_factors: dict[str, float] | None = None,
                 grade_edges: list[float] | None = None) -> pd.DataFrame:
    """Outcomes (SK_ID_CURR, defaulted, date) of the scored dossier calls: each applicant defaults with the
    probability its score says (the twin's model is calibrated), times `default_factor` (above 1: a
    population riskier than its scores, which realised figures see and the estimate cannot), and times
    `grade_factors[g]` for the applicants of grade g on the master scale of `grade_edges`."""
    scored = [r for r in records if r.applicant_id is not None and r.prediction is not None]
    rng = np.random.default_rng([seed, 12])
    scores = np.array([r.prediction["score"] for r in scored], dtype=float)
    factors = np.full(scores.size, default_factor)
    if grade_factors:  # a miscalibrated grade of the master scale: its applicants default `factor` times as often
        letters = np.array(list(LETTERS))[grade_index(grade_edges or [], scores)]
        for grade, factor in grade_factors.items():
            factors[letters == grade] *= factor
    p = np.clip(scores * factors, 0.0, 1.0)
    dates = pd.to_datetime([r.timestamp for r in scored], utc=True) + delay
    return pd.DataFrame({ID_COLUMN: [r.applicant_id for r in scored],
                         DEFAULTED: (rng.random(p.size) < p).astype(int), DATE: dates.strftime("%Y-%m-%d")})

