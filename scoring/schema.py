"""The one source of truth for names shared across the project.

Table file names, the 11 features the advisers fill in (with their French labels, widget kinds
and form ranges; the labels, units and domain rules of every other feature are in the feature
registry, `scoring.feature_registry`), the decision labels, the artifact file names and the prediction log record.
Training, the predictor, the UI, the API, the logger and monitoring import from here; nothing
else spells these names.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal

import orjson

# --- Tables -------------------------------------------------------------------------------

ID_COLUMN = "SK_ID_CURR"
TARGET_COLUMN = "TARGET"

APPLICATION_TRAIN = "application_train"
APPLICATION_TEST = "application_test"
BUREAU = "bureau"
BUREAU_BALANCE = "bureau_balance"
PREVIOUS_APPLICATION = "previous_application"
POS_CASH = "POS_CASH_balance"
INSTALMENTS = "installments_payments"
CREDIT_CARD = "credit_card_balance"

# The six child tables, in the order features are built from them.
CHILD_TABLES = (BUREAU, BUREAU_BALANCE, PREVIOUS_APPLICATION, POS_CASH, INSTALMENTS, CREDIT_CARD)
TABLE_EXTENSIONS = (".csv", ".csv.gz", ".parquet")

# --- Decision -----------------------------------------------------------------------------

LABEL_LOW_RISK = "✅ Faible risque"
LABEL_HIGH_RISK = "❌ Risque élevé"
LABEL_REVIEW = "à étudier"  # flag for scores in the grey zone around the threshold


def label_for(score: float, threshold: float) -> str:
    """The decision label: high risk at or above the threshold."""
    return LABEL_HIGH_RISK if score >= threshold else LABEL_LOW_RISK


def prediction_for(score: float, threshold: float) -> int:
    """1 = high risk (predicted default), 0 = low risk."""
    return int(score >= threshold)


# --- The 11 features of the form -----------------------------------------------------------

Widget = Literal["slider", "number", "checkbox", "radio"]


@dataclass(frozen=True)
class UIFeature:
    """One model feature the advisers can set, with how the form shows it."""

    name: str
    label: str  # French, shown to advisers and used in reasons
    widget: Widget
    minimum: float = 0.0
    maximum: float = 1.0
    step: float = 1.0
    binary: bool = False


@dataclass(frozen=True)
class ExclusiveGroup:
    """One-hot columns of which at most one is 1, shown as one radio."""

    name: str
    label: str
    options: dict[str, str | None]  # French choice -> feature set to 1 (None: all stay 0)


EXT_SOURCE_1 = "EXT_SOURCE_1"
EXT_SOURCE_2 = "EXT_SOURCE_2"
EXT_SOURCE_3 = "EXT_SOURCE_3"
EDUCATION_HIGHER = "NAME_EDUCATION_TYPE_Higher education"
EDUCATION_SECONDARY = "NAME_EDUCATION_TYPE_Secondary / secondary special"
CARD_ATM_DRAWINGS = "CRECARD_CNT_DRAWINGS_ATM_CURRENT_mean"
INCOME_WORKING = "NAME_INCOME_TYPE_Working"
GENDER_F = "CODE_GENDER_F"
GENDER_M = "CODE_GENDER_M"
DOCUMENT_3 = "FLAG_DOCUMENT_3"
BUREAU_OVERDUE_MAX = "BUREAU_AMT_CREDIT_SUM_OVERDUE_max"

UI_FEATURES: tuple[UIFeature, ...] = (
    UIFeature(EXT_SOURCE_1, "Score externe 1", "slider", 0.0, 1.0, 0.01),
    UIFeature(EXT_SOURCE_2, "Score externe 2", "slider", 0.0, 1.0, 0.01),
    UIFeature(EXT_SOURCE_3, "Score externe 3", "slider", 0.0, 1.0, 0.01),
    UIFeature(EDUCATION_HIGHER, "Études supérieures", "radio", binary=True),
    UIFeature(EDUCATION_SECONDARY, "Études secondaires", "radio", binary=True),
    UIFeature(CARD_ATM_DRAWINGS, "Retraits DAB par mois (carte, moyenne)", "slider", 0.0, 50.0, 0.5),
    UIFeature(INCOME_WORKING, "Salarié", "checkbox", binary=True),
    UIFeature(GENDER_F, "Femme", "radio", binary=True),
    UIFeature(GENDER_M, "Homme", "radio", binary=True),
    UIFeature(DOCUMENT_3, "Document n° 3 fourni", "checkbox", binary=True),
    UIFeature(BUREAU_OVERDUE_MAX, "Impayé max. auprès d'autres organismes (€)", "number", 0.0, 100_000.0, 100.0),
)
UI_FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in UI_FEATURES)
# The form features a real applicant often lacks (no external score, no credit card, no bureau
# record): at every door (form, API, dossier what-if, predict_credit_score, batch) they may be left
# empty, absent or null and are scored as missing (NaN, which the model handles), never as 0 or a median.
MAY_BE_UNKNOWN: frozenset[str] = frozenset((EXT_SOURCE_1, EXT_SOURCE_2, EXT_SOURCE_3, CARD_ATM_DRAWINGS,
                                            BUREAU_OVERDUE_MAX))
UNKNOWN_FR = "inconnu"  # how a missing value is shown to advisers
UI_FEATURES_BY_NAME: dict[str, UIFeature] = {f.name: f for f in UI_FEATURES}

EXCLUSIVE_GROUPS: tuple[ExclusiveGroup, ...] = (
    ExclusiveGroup("CODE_GENDER", "Genre", {"Femme": GENDER_F, "Homme": GENDER_M}),
    ExclusiveGroup(
        "NAME_EDUCATION_TYPE",
        "Niveau d'études",
        {"Supérieur": EDUCATION_HIGHER, "Secondaire": EDUCATION_SECONDARY, "Autre": None},
    ),
)

# --- Domain rules: what a value can be, from what it means --------------------------------
# Each feature's rule is in the feature registry (`scoring.feature_registry.domain_rule`), derived from
# the meaning of its columns (`scoring.feature_specs`). Checked before the training range (which is only
# widened by a margin), the same for the API, the form, the batch and predict_credit_score.


@dataclass(frozen=True)
class DomainRule:
    """Values a feature can take by definition: [low, high], or exactly 0/1 when `binary`."""

    low: float = -math.inf
    high: float = math.inf
    binary: bool = False
    meaning: str = "any finite number"


# --- Model artifacts ----------------------------------------------------------------------

MODEL_FILE = "best_model.pkl"  # joblib pickle, written for the seed's users; never loaded by the service
SERVED_MODEL_FILE = "best_model.ubj"  # the same model in XGBoost's own format (UBJSON): what the service loads
FEATURES_FILE = "features.txt"
THRESHOLD_FILE = "threshold.json"
METRICS_FILE = "metrics.json"
REFERENCE_FILE = "reference.json"
MANIFEST_FILE = "manifest.json"
# The promotion gate's decision on this model (`promote.py`), listed in the manifest; the deploy ships a
# model folder only with a decision that promoted this very model (`lifecycle.decision_check`).
PROMOTION_FILE = "promotion.json"
ONNX_FILE = "best_model.onnx"  # derived from MODEL_FILE by convert_to_onnx.py (optional)
# The self-contained HTML model report (written by train.py, listed in the manifest when present):
# the app links it from /model/info and shows it on a tab.
REPORT_FILE = "model_report.html"
ARTIFACT_FILES = (MODEL_FILE, SERVED_MODEL_FILE, FEATURES_FILE, THRESHOLD_FILE, METRICS_FILE, REFERENCE_FILE)
SCORE_KEY = "score"  # the score's entry among drift features in reference.json and reports

# --- Prediction log record ----------------------------------------------------------------

STATUS_OK = "ok"
STATUS_ERROR = "error"


# Where a scored row came from (LogRecord.source): typed on the form, sent to the JSON API, read
# from a batch, a known applicant's dossier as stored, or a dossier with some values changed.
SOURCE_FORM, SOURCE_API, SOURCE_BATCH, SOURCE_DOSSIER, SOURCE_WHAT_IF = "form", "api", "batch", "dossier", "what-if"
LOG_SOURCES = (SOURCE_FORM, SOURCE_API, SOURCE_BATCH, SOURCE_DOSSIER, SOURCE_WHAT_IF)
# The key of a log line recording an adviser's final decision on an earlier call (prediction null):
# {"decision": accept / refuse / override, "final", "model_decision", "reason", "of_request", ...}.
ADVISER_DECISION_KEY = "adviser_decision"
# Its values: the adviser's decision (accept, refuse, override the model), the final one (accept,
# refuse) and the model's (accept, refuse, review: the grey zone, where the adviser decides).
ADVISER_ACCEPT, ADVISER_REFUSE, ADVISER_OVERRIDE, MODEL_REVIEW = "accept", "refuse", "override", "review"
# Shadow scoring (api/shadow.py): the challenger's answer to the same call, on the call's own line; absent
# when no challenger is set. `challenger_decision` is 1 for high risk, as `prediction.decision`;
# `challenger_duration` the seconds the challenger took (on the worker, not in the call's duration).
CHALLENGER_VERSION_KEY = "challenger_version"
CHALLENGER_SCORE_KEY = "challenger_score"
CHALLENGER_DECISION_KEY = "challenger_decision"
CHALLENGER_DURATION_KEY = "challenger_duration"
CHALLENGER_ERROR_KEY = "challenger_error"  # the challenger failed on this call (the champion answered)
# The features of a scored call past the range seen in training (accepted and flagged: `serving.rules`), a
# list of names; absent when none (and in older logs).
OUT_OF_RANGE_KEY = "out_of_range"
CHALLENGER_SKIPPED_KEY = "challenger_skipped"  # why the challenger did not score this call (one of below)
SKIPPED_QUEUE_FULL = "queue_full"  # its worker was too far behind: dropped rather than queued
SKIPPED_SAMPLED_OUT = "sampled_out"  # outside the shadowed share of calls (SHADOW_SHARE)
SKIPPED_WORKER_DOWN = "worker_down"  # its process was down or did not answer


@dataclass(frozen=True)
class LogRecord:
    """One prediction call, as one JSON line of the log. Written by api/logger, read by monitoring.

    `prediction` is `{"score": float, "label": str, "decision": 0 | 1, "grade": str | None}` (1 = high risk; the
    master-scale grade, A best; older records have no `decision`: monitoring derives it from the label, nor
    `grade`: monitoring grades the score on the model's scale), or None for a rejected call.
    """

    timestamp: str  # ISO 8601, UTC
    request_id: str
    input: dict[str, Any]
    prediction: dict[str, Any] | None
    duration: float  # seconds
    cpu_percent: float | None
    memory_usage_MB: float | None
    model_version: str | None
    status: str = STATUS_OK
    error: str | None = None
    client: str | None = None  # the API token's name when access control is on (never the token)
    replica: str | None = None  # which app replica wrote it (REPLICA_ID or the host name); absent in older logs
    source: str | None = None  # where the row came from: one of LOG_SOURCES; absent in older logs
    applicant_id: int | None = None  # SK_ID_CURR of a dossier (look-up or what-if); else absent
    # The challenger's answer to the same call (shadow scoring, CHALLENGER_*_KEY above); absent without one.
    challenger_version: str | None = None
    challenger_score: float | None = None
    challenger_decision: int | None = None  # 1 = high risk
    challenger_duration: float | None = None  # seconds, on the shadow worker
    challenger_skipped: str | None = None  # why the challenger did not score this call (SKIPPED_* above)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys kept when reading

    def to_json(self) -> str:
        return self.to_line().decode("utf-8").rstrip("\n")

    def to_line(self) -> bytes:
        """The record as one UTF-8 JSON line, newline included (orjson: ~6x faster than json.dumps; a
        value orjson refuses, e.g. an int beyond 64 bits, goes through json.dumps). A non-finite float,
        which callers never put here (`api.logger.safe_input` turns them into text), is written null."""
        return log_line(tuple(getattr(self, name) for name in _HEAD_KEYS),
                        tuple(getattr(self, name) for name in _TAIL_KEYS), self.extra)

    @staticmethod
    def line(**values: Any) -> bytes:
        """`LogRecord(**values).to_line()` without building the frozen record (the log writer's path, once
        per call: building it cost as much as writing it); the same keys, defaults and checks of names."""
        extra = values.pop("extra", None)
        if not values.keys() >= _REQUIRED or not values.keys() <= _DEFAULTS.keys():
            wrong = sorted((_REQUIRED - values.keys()) | (values.keys() - _DEFAULTS.keys()))
            raise TypeError(f"LogRecord: field {wrong[0]!r} missing or unknown")
        return log_line(tuple(values[name] if name in values else _DEFAULTS[name] for name in _HEAD_KEYS),
                        tuple(values.get(name) for name in _TAIL_KEYS), extra)


# The keys of a log line, as LogRecord writes them (unknown keys read back go into `extra`).
LOG_RECORD_KEYS: tuple[str, ...] = tuple(f.name for f in fields(LogRecord) if f.name != "extra")
CHALLENGER_FIELDS = (CHALLENGER_VERSION_KEY, CHALLENGER_SCORE_KEY, CHALLENGER_DECISION_KEY, CHALLENGER_DURATION_KEY,
                     CHALLENGER_SKIPPED_KEY)
_OPTIONAL_FIELDS = ("error", "client", "replica", "source", "applicant_id", *CHALLENGER_FIELDS)  # left out when None
_DEFAULTS = {f.name: f.default for f in fields(LogRecord) if f.name != "extra"}
_REQUIRED = frozenset(name for name, default in _DEFAULTS.items() if default is MISSING)  # `LogRecord.line` needs them


# A line is the nine fields always written (None as null), then the optional ones that are not None, in
# the record's order, then `extra`: `log_line` takes them in that order, without building the record.
_HEAD_KEYS = tuple(name for name in LOG_RECORD_KEYS if name not in _OPTIONAL_FIELDS)
_TAIL_KEYS = tuple(name for name in LOG_RECORD_KEYS if name in _OPTIONAL_FIELDS)
if LOG_RECORD_KEYS != _HEAD_KEYS + _TAIL_KEYS:  # a line keeps the record's order of keys
    raise TypeError("LogRecord: the optional fields (left out when None) must follow the others")


def log_line(head: tuple[Any, ...], tail: tuple[Any, ...] = (), extra: dict[str, Any] | None = None) -> bytes:
    """The bytes of `LogRecord(...).to_line()` from the values themselves (the log writer's path, once per call):
    `head` the values of `_HEAD_KEYS` (timestamp ... status, in the record's order), `tail` those of
    `_TAIL_KEYS` (error, client, replica, source, applicant_id, the challenger's; a shorter tuple: the rest
    None), `extra` further keys. No check of types: the writer's values are the record's."""
    record = dict(zip(_HEAD_KEYS, head, strict=True))
    for name, value in zip(_TAIL_KEYS, tail, strict=False):  # a shorter tail: the rest None
        if value is not None:
            record[name] = value
    if extra:
        record |= extra
    try:
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return (json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n").encode()
