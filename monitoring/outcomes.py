"""Outcomes: whether the applicants whose decisions were logged defaulted, and how the model did on them.

An outcome file is CSV with `SK_ID_CURR, defaulted, date` (0/1; the date the outcome was known). Each
outcome is joined to the applicant's last logged decision (a call with that `applicant_id`, status ok)
made before the end of its date. Once `min_outcomes` are joined, with `min_each` defaulters and as many
repaid loans, the realised figures are reported: AUC, default rate overall and by decision, recall and
precision of the high-risk decision, calibration (scoring.evaluation.calibration, the one used at
training); and alerts when they fall from the training figures of `metrics.json`.

Before outcomes exist (defaults take months), `monitoring.estimate` gives the same figures expected from
the logged scores alone, shown beside the realised ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monitoring.alerts import CRITICAL, WARNING, Alert, alert
from monitoring.estimate import Estimate, estimate
from monitoring.reader import LogData
from monitoring.records import APPLICANT, ERROR, HIGH_RISK, MAX_IDENTIFIER, SCORE, TIME
from monitoring.style import fr
from scoring.evaluation import auc_or_nan, calibration
from scoring.schema import ID_COLUMN

DEFAULTED = "defaulted"
DATE = "date"
OUTCOME_COLUMNS = (ID_COLUMN, DEFAULTED, DATE)


class OutcomeError(OSError):
    """The outcome file cannot be read (missing, not CSV, without the required columns)."""


@dataclass(frozen=True)
class OutcomeConfig:
    min_outcomes: int = 200  # fewer joined outcomes: figures not reported (an AUC on 50 loans is noise)
    min_each: int = 20  # ... and at least this many defaulters and as many repaid loans
    auc_drop: float = 0.05  # alert when the realised AUC is this far below the training AUC
    recall_drop: float = 0.10  # alert when the share of defaulters flagged high risk falls this far
    calibration_z: float = 4.0  # alert when the observed default rate is this many standard errors ...
    calibration_gap: float = 0.02  # ... and this far from the mean score (absolute)


@dataclass(frozen=True)
class Outcomes:
    """An outcome file read: one row per applicant (the latest outcome), and the rows left out."""

    frame: pd.DataFrame  # SK_ID_CURR (int64), defaulted (0/1), date (UTC day)
    invalid_rows: int
    path: str


def read_outcomes(path: Path | str) -> Outcomes:
    """Read an outcome file. Rows with an unreadable id, a `defaulted` other than 0/1 or an unreadable date
    are counted and left out; an applicant with several outcomes keeps the latest."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise OutcomeError(f"outcome file {path} not found") from exc
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise OutcomeError(f"cannot read {path} as CSV: {exc}") from exc
    missing = [c for c in OUTCOME_COLUMNS if c not in raw.columns]
    if missing:
        raise OutcomeError(f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(OUTCOME_COLUMNS)})")
    ids = pd.to_numeric(raw[ID_COLUMN].str.strip(), errors="coerce")
    defaulted = raw[DEFAULTED].str.strip().map({"0": 0, "1": 1})
    dates = pd.to_datetime(raw[DATE].str.strip(), utc=True, errors="coerce", format="ISO8601")
    valid = (ids.notna() & (ids == ids.round()) & (ids >= 0) & (ids < MAX_IDENTIFIER) & defaulted.notna()
             & dates.notna())
    frame = pd.DataFrame({ID_COLUMN: ids[valid].astype("int64"), DEFAULTED: defaulted[valid].astype("int64"),
                          DATE: dates[valid].dt.floor("D")})
    frame = frame.sort_values(DATE, kind="stable").drop_duplicates(ID_COLUMN, keep="last")
    return Outcomes(frame.reset_index(drop=True), int((~valid).sum()), str(path))


def join_outcomes(frame: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Each outcome with the applicant's last successful logged call before the end of the outcome's date:
    columns SK_ID_CURR, defaulted, date, score, decision, row (the call's row in `frame`)."""
    calls = frame.loc[~frame[ERROR] & frame[APPLICANT].notna() & frame[SCORE].notna(), [TIME, APPLICANT, SCORE,
                                                                                           HIGH_RISK]]
    calls = calls.assign(row=calls.index.to_numpy(), **{ID_COLUMN: calls[APPLICANT].astype("int64")})
    calls = calls.sort_values(TIME, kind="stable")
    known = outcomes.assign(_end=outcomes[DATE] + pd.Timedelta(days=1)).sort_values("_end", kind="stable")
    joined = pd.merge_asof(known, calls, left_on="_end", right_on=TIME, by=ID_COLUMN, direction="backward",
                           allow_exact_matches=False)
    joined = joined[joined[SCORE].notna()]
    return pd.DataFrame({ID_COLUMN: joined[ID_COLUMN].to_numpy(), DEFAULTED: joined[DEFAULTED].to_numpy(),
                         DATE: joined[DATE].to_numpy(), "score": joined[SCORE].to_numpy(dtype=float),
                         "decision": joined[HIGH_RISK].to_numpy(dtype=float),
                         "row": joined["row"].to_numpy(dtype=np.int64)})


def _rate(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def _by_decision(y: np.ndarray, decision: np.ndarray) -> dict[str, Any]:
    return {str(d): {"n": int((decision == d).sum()), "default_rate": _rate(y[decision == d])} for d in (0, 1)}


@dataclass(frozen=True)
class Realised:
    """The model's figures on the joined outcomes."""

    n: int
    defaults: int
    auc: float | None
    default_rate: float
    by_decision: dict[str, Any]  # "0" (low risk) and "1" (high risk): n and default rate
    recall: float | None  # share of the defaulters that were flagged high risk
    precision: float | None  # share of the high-risk decisions that defaulted
    calibration: dict[str, Any]  # brier, ece, bins (scoring.evaluation.calibration)

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def realised(joined: pd.DataFrame) -> Realised:
    y = joined[DEFAULTED].to_numpy(dtype=int)
    scores = joined["score"].to_numpy(dtype=float)
    decision = joined["decision"].to_numpy(dtype=float)
    auc = auc_or_nan(y, scores)
    return Realised(int(y.size), int(y.sum()), None if math.isnan(auc) else auc, float(y.mean()),
                    _by_decision(y, decision), _rate(decision[y == 1]), _rate(y[decision == 1].astype(float)),
                    calibration(y, scores))


@dataclass(frozen=True)
class Performance:
    """The report's `performance` section: estimated from the logged scores, and realised from outcomes."""

    estimated: Estimate | None
    realised: Realised | None
    outcomes: dict[str, Any] | None  # file, rows read, invalid rows, joined; None without an outcome file
    training: dict[str, Any]  # the training figures compared with (metrics.json)
    waiting_for: str | None = None  # why the realised figures are not reported yet

    def to_dict(self) -> dict[str, Any]:
        return {"estimated": self.estimated.to_dict() if self.estimated else None,
                "realised": self.realised.to_dict() if self.realised else None,
                "outcomes": self.outcomes, "training": self.training, "waiting_for": self.waiting_for}


def training_figures(metrics: dict[str, Any] | None) -> dict[str, Any]:
    """The training figures outcomes are compared with: AUC, recall, precision, Brier score and calibration
    error (ECE) of metrics.json."""
    metrics = metrics or {}
    found = {k: metrics.get(k) for k in ("auc", "recall", "precision") if isinstance(metrics.get(k), int | float)}
    calibrated = metrics.get("calibration") if isinstance(metrics.get("calibration"), dict) else {}
    return found | {k: calibrated[k] for k in ("brier", "ece") if isinstance(calibrated.get(k), int | float)}


def performance(frame: pd.DataFrame, outcomes: Outcomes | None, metrics: dict[str, Any] | None,
                config: OutcomeConfig = OutcomeConfig()) -> tuple[Performance, pd.DataFrame]:
    """The estimated figures (every scored call) and, with enough joined outcomes, the realised ones;
    also the joined outcomes (empty without a file)."""
    ok = ~frame[ERROR].to_numpy() & np.isfinite(frame[SCORE].to_numpy(dtype=float))
    found = estimate(frame[SCORE].to_numpy(dtype=float)[ok], frame[HIGH_RISK].to_numpy(dtype=float)[ok])
    training = training_figures(metrics)
    if outcomes is None:
        return Performance(found, None, None, training, "no outcome file (--outcomes)"), pd.DataFrame()
    joined = join_outcomes(frame, outcomes.frame)
    defaults = int(joined[DEFAULTED].sum())
    summary = {"file": outcomes.path, "rows": len(outcomes.frame), "invalid_rows": outcomes.invalid_rows,
               "joined": len(joined), "defaults": defaults}
    if len(joined) < config.min_outcomes or min(defaults, len(joined) - defaults) < config.min_each:
        waiting = (f"{len(joined)} outcomes joined ({defaults} defaults): at least {config.min_outcomes}, with "
                   f"{config.min_each} defaults and {config.min_each} repaid, are needed")
        return Performance(found, None, summary, training, waiting), joined
    return Performance(found, realised(joined), summary, training), joined


OUTCOME_AUC = "outcome_auc"
OUTCOME_RECALL = "outcome_recall"
CALIBRATION = "calibration"


def outcome_alerts(data: LogData, perf: Performance, joined: pd.DataFrame,
                   config: OutcomeConfig = OutcomeConfig()) -> list[Alert]:
    """Alerts when the realised figures fall from the training ones: AUC by `auc_drop`, recall by
    `recall_drop`; and when the observed default rate is off the mean score (calibration) by both
    `calibration_gap` and `calibration_z` binomial standard errors. Where: the joined calls, first to last."""
    found = perf.realised
    if found is None or joined.empty:
        return []
    rows = np.sort(joined["row"].to_numpy())
    first, last = int(rows[0]), int(rows[-1])
    out = []
    train_auc, train_recall = perf.training.get("auc"), perf.training.get("recall")
    if found.auc is not None and train_auc is not None and found.auc < train_auc - config.auc_drop:
        out.append(alert(OUTCOME_AUC, data, first, last, found.auc, round(train_auc - config.auc_drop, 6),
                         f"AUC {found.auc:.3f} on {found.n} outcomes, against {train_auc:.3f} at training",
                         CRITICAL if found.auc < train_auc - 2 * config.auc_drop else WARNING,
                         message_fr=f"AUC {fr(found.auc)} sur {found.n} issues connues, contre {fr(train_auc)} à "
                         "l'entraînement"))
    if found.recall is not None and train_recall is not None and found.recall < train_recall - config.recall_drop:
        out.append(alert(OUTCOME_RECALL, data, first, last, found.recall,
                         round(train_recall - config.recall_drop, 6),
                         f"{found.recall:.1%} of the {found.defaults} defaulters were flagged high risk, against "
                         f"{train_recall:.1%} at training",
                         message_fr=f"{fr(found.recall, '.1%')} des {found.defaults} défaillants étaient signalés à "
                         f"risque élevé, contre {fr(train_recall, '.1%')} à l'entraînement"))
    expected = float(joined["score"].mean())
    error = math.sqrt(max(expected * (1 - expected), 1e-6) / found.n)
    gap = found.default_rate - expected
    if abs(gap) > config.calibration_gap and abs(gap) > config.calibration_z * error:
        out.append(alert(CALIBRATION, data, first, last, found.default_rate, round(expected, 6),
                         f"{found.default_rate:.1%} of {found.n} applicants defaulted where the scores expected "
                         f"{expected:.1%}",
                         message_fr=f"{fr(found.default_rate, '.1%')} des {found.n} clients ont fait défaut là où les "
                         f"scores en attendaient {fr(expected, '.1%')}"))
    return out
