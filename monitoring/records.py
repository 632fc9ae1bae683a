"""One record of the prediction log as the monitoring reader sees it: the frame's column names, the one
mapping from a record's keys to those columns (`FIELDS`, read by both parsers), what a record may hold
(types and plausible bounds; anything else makes its line corrupt, never coerced), and the parse of one
line.

Bounds (`PLAUSIBLE`): a timestamp in [2000, 2100) UTC, a duration in [0, 3600] s (required), CPU in
[0, 102400] % (per process, 100 % a core), memory in [0, 16 TB], a score in [0, 1]; null CPU, memory
and score are allowed (a refused call has no score). A line longer than MAX_LINE_BYTES is corrupt.
JSON `true`/`false` count as 1/0 only for the form's inputs, never for a measure.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import pandas as pd

from scoring.schema import (
    ADVISER_DECISION_KEY,
    CHALLENGER_DECISION_KEY,
    CHALLENGER_DURATION_KEY,
    CHALLENGER_SCORE_KEY,
    CHALLENGER_SKIPPED_KEY,
    CHALLENGER_VERSION_KEY,
    LABEL_HIGH_RISK,
    LABEL_LOW_RISK,
    OUT_OF_RANGE_KEY,
    STATUS_ERROR,
    STATUS_OK,
    UI_FEATURE_NAMES,
)

# Column names of the frame (one module owns them; the rest of monitoring imports these).
TIME = "timestamp"
FILE = "file"
LINE = "line"
DURATION = "duration"
CPU = "cpu_percent"
MEMORY = "memory_usage_MB"
SCORE = "score"
HIGH_RISK = "high_risk"  # the decision: 1.0 high risk, 0.0 low risk, NaN no prediction
ERROR = "error"  # True when status is "error"
VERSION = "model_version"
REPLICA = "replica"  # the app replica that wrote the record (None in logs older than the field)
SOURCE = "source"  # where the call came from (scoring.schema.LOG_SOURCES); None in older logs
APPLICANT = "applicant_id"  # SK_ID_CURR of a dossier call; <NA> otherwise and in older logs
# An adviser's final decision on an earlier call (a line of its own, `ADVISER_DECISION_KEY`, not a call):
# what the adviser chose (accept / refuse / override), the final decision (accept / refuse), the model's
# (accept / refuse / review) and whether it overrode the model (1.0 / 0.0). None / NaN on every other line.
ADVISER = "adviser_decision"
ADVISER_FINAL = "adviser_final"
ADVISER_MODEL = "adviser_model_decision"
OVERRIDE = "override"
ADVISER_OF = "adviser_of"  # the request id of the evaluation decided: one final decision per evaluation
# Shadow scoring (api/shadow.py): the challenger's version, score, decision (1.0 high risk) and seconds on
# the call's line; None / NaN on lines without a challenger.
CHALLENGER_VERSION = CHALLENGER_VERSION_KEY
CHALLENGER_SCORE = CHALLENGER_SCORE_KEY
CHALLENGER_DECISION = CHALLENGER_DECISION_KEY
CHALLENGER_DURATION = CHALLENGER_DURATION_KEY
CHALLENGER_SKIPPED = CHALLENGER_SKIPPED_KEY  # why the challenger did not score the call (sampled_out...)
# The features of a scored call whose value lay past the training range (serving.rules), joined by ";";
# None on calls without any (and in logs older than the flag).
OUT_OF_RANGE = OUT_OF_RANGE_KEY
OUT_OF_RANGE_SEP = ";"
NUMERIC_COLUMNS = (DURATION, CPU, MEMORY, SCORE, HIGH_RISK, OVERRIDE, CHALLENGER_SCORE, CHALLENGER_DECISION,
                   CHALLENGER_DURATION)
FRAME_COLUMNS = (TIME, FILE, LINE, DURATION, CPU, MEMORY, SCORE, HIGH_RISK, ERROR, VERSION, REPLICA, SOURCE,
                 APPLICANT, ADVISER, ADVISER_FINAL, ADVISER_MODEL, OVERRIDE, ADVISER_OF, CHALLENGER_VERSION,
                 CHALLENGER_SCORE, CHALLENGER_DECISION, CHALLENGER_DURATION, CHALLENGER_SKIPPED, OUT_OF_RANGE,
                 *UI_FEATURE_NAMES)
CATEGORY_COLUMNS = (VERSION, REPLICA, SOURCE, ADVISER, ADVISER_FINAL, ADVISER_MODEL, ADVISER_OF, CHALLENGER_VERSION,
                    CHALLENGER_SKIPPED, OUT_OF_RANGE)

# Kinds of value a field holds, each read the same way by the Arrow and the line-by-line parser.
TEXT = "text"  # a string, else None
MEASURE = "measure"  # a number or null (NaN); anything else makes the line corrupt
INPUT = "input"  # a form input: a number (true/false as 1/0), else NaN
IDENTIFIER = "identifier"  # an integer (not a bool), else <NA>
FLAG = "flag"  # JSON true / false as 1.0 / 0.0, else NaN
NAMES = "names"  # a non-empty list of strings, joined by OUT_OF_RANGE_SEP; else None
DECISION_KEY = "decision"  # 0/1 in prediction; older records: derived from the label

# The one mapping from a log record to the frame: column -> (path of keys in the record, kind). HIGH_RISK
# (prediction's decision, else its label) and ERROR (status) are derived; FILE and LINE are where it was read.
FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    TIME: (("timestamp",), TEXT),
    DURATION: (("duration",), MEASURE),
    CPU: (("cpu_percent",), MEASURE),
    MEMORY: (("memory_usage_MB",), MEASURE),
    SCORE: (("prediction", "score"), MEASURE),
    VERSION: (("model_version",), TEXT),
    REPLICA: (("replica",), TEXT),
    SOURCE: (("source",), TEXT),
    APPLICANT: (("applicant_id",), IDENTIFIER),
    ADVISER: ((ADVISER_DECISION_KEY, "decision"), TEXT),
    ADVISER_FINAL: ((ADVISER_DECISION_KEY, "final"), TEXT),
    ADVISER_MODEL: ((ADVISER_DECISION_KEY, "model_decision"), TEXT),
    OVERRIDE: ((ADVISER_DECISION_KEY, "override"), FLAG),
    ADVISER_OF: ((ADVISER_DECISION_KEY, "request_id"), TEXT),
    CHALLENGER_VERSION: ((CHALLENGER_VERSION_KEY,), TEXT),
    CHALLENGER_SCORE: ((CHALLENGER_SCORE_KEY,), MEASURE),
    CHALLENGER_DECISION: ((CHALLENGER_DECISION_KEY,), MEASURE),
    CHALLENGER_DURATION: ((CHALLENGER_DURATION_KEY,), MEASURE),
    CHALLENGER_SKIPPED: ((CHALLENGER_SKIPPED_KEY,), TEXT),
    OUT_OF_RANGE: ((OUT_OF_RANGE_KEY,), NAMES),
    **{name: (("input", name), INPUT) for name in UI_FEATURE_NAMES},
}

# What a record may hold; outside these bounds a line is corrupt, not a measurement. A call's duration is
# capped well below an hour by the server's timeouts; CPU is per process (100 % per core).
PLAUSIBLE = {
    TIME: (pd.Timestamp("2000-01-01", tz="UTC"), pd.Timestamp("2100-01-01", tz="UTC")),
    DURATION: (0.0, 3600.0),
    CPU: (0.0, 100.0 * 1024),
    MEMORY: (0.0, 1024.0 * 1024 * 16),
    SCORE: (0.0, 1.0),
}
REQUIRED = (DURATION,)  # a record without a finite duration is corrupt; CPU, memory and score may be null
MAX_LINE_BYTES = 1 << 20  # a record is at most ~200 KB (api.logger bounds what it logs); longer lines are corrupt
OVERSIZED = b"\x00oversized\n"  # stands for a line longer than MAX_LINE_BYTES (its bytes are never kept)

_OLD_SCORE = re.compile(r"score\s*:\s*([-+0-9.eE]+)", re.IGNORECASE)


def implausible(frame: pd.DataFrame) -> np.ndarray:
    """Per row, why it is not a plausible record ("" when it is): a missing or invalid timestamp, a
    missing duration, a value outside `PLAUSIBLE`."""
    reasons = np.full(len(frame), "", dtype=object)
    times = frame[TIME]
    low, high = PLAUSIBLE[TIME]
    reasons[((times < low) | (times >= high)).to_numpy()] = f"timestamp outside [{low.year}, {high.year})"
    reasons[times.isna().to_numpy()] = "missing or invalid timestamp"
    for column in (DURATION, CPU, MEMORY, SCORE):
        values = frame[column].to_numpy(dtype=np.float64)
        low, high = PLAUSIBLE[column]
        wrong = (values < low) | (values > high) | np.isinf(values)
        if column in REQUIRED:
            wrong |= np.isnan(values)
        reasons[wrong & (reasons == "")] = f"{column} missing or outside [{low:g}, {high:g}]"
    return reasons


def number(value: Any) -> float:
    """An input value as a number (JSON true/false are 1/0 for the form's flags); anything else NaN."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return math.nan
    return math.nan


def measure(value: Any) -> float:
    """A measured value (duration, CPU, memory, score) as a number; NaN for null. A bool, a string or an
    object is not a measure: ValueError (the line is counted as corrupt)."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(type(value).__name__)
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _get(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record


MAX_IDENTIFIER = 2**53  # identifiers are held as float64 while parsing: exact below this


def identifier(value: Any) -> int | None:
    """An integer identifier in [0, MAX_IDENTIFIER); anything else (a bool, a float, a string) None."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_IDENTIFIER
    return value if ok else None


def flag(value: Any) -> float:
    """A JSON true / false as 1.0 / 0.0; anything else NaN."""
    return float(value) if isinstance(value, bool) else math.nan


def names(value: Any) -> str | None:
    """A non-empty list of strings joined by OUT_OF_RANGE_SEP; anything else (an empty list, a number in the
    list, a string) None, as the Arrow parser reads it."""
    ok = isinstance(value, list) and value and all(isinstance(v, str) for v in value)
    return OUT_OF_RANGE_SEP.join(value) if ok else None


_READ = {TEXT: lambda v: text(v), MEASURE: measure, INPUT: number, IDENTIFIER: identifier, FLAG: flag, NAMES: names}


def row_values(record: dict[str, Any]) -> dict[str, Any] | str:
    """The frame's values of one parsed record (`FIELDS`, then HIGH_RISK and ERROR), or why one has the
    wrong type."""
    row: dict[str, Any] = {}
    for column, (path, kind) in FIELDS.items():
        try:
            row[column] = _READ[kind](_get(record, path))
        except ValueError as exc:
            return f"{' '.join(path)}: expected a number, got {exc}"
    prediction = record.get("prediction")
    row[SCORE] = parse_prediction(prediction)[0] if isinstance(prediction, str) else row[SCORE]
    row[HIGH_RISK] = parse_prediction(prediction)[1]
    row[ERROR] = record.get("status") == STATUS_ERROR
    return row


def decision_of_label(label: Any) -> float:
    """An older record's decision, from its label: 1.0 high risk, 0.0 low risk, NaN unknown."""
    if not isinstance(label, str):
        return math.nan
    if LABEL_HIGH_RISK in label:
        return 1.0
    if LABEL_LOW_RISK in label:
        return 0.0
    return math.nan


def parse_prediction(prediction: Any) -> tuple[float, float]:
    """(score, decision) of a record's `prediction`, in the current or the seed's older forms.

    Current: `{"score": 0.21, "label": "✅ Faible risque", "decision": 0}`. Before the decision was logged,
    the same without `decision`, and in the seed `"Score : 0.2159 → ✅ Faible risque"`: the decision is then
    read from the label. Unknown parts are NaN.
    """
    if isinstance(prediction, dict):
        decision = prediction.get(DECISION_KEY)
        if decision in (0, 1) and not isinstance(decision, bool | float):
            return number(prediction.get("score")), float(decision)
        return number(prediction.get("score")), decision_of_label(prediction.get("label"))
    if isinstance(prediction, str):
        match = _OLD_SCORE.search(prediction)
        score = number(float(match.group(1))) if match and is_float(match.group(1)) else math.nan
        return score, decision_of_label(prediction)
    return math.nan, math.nan


def is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_line(raw: bytes) -> dict[str, Any] | str:
    """The frame's values of one line (see `row_values`), or why the line is corrupt."""
    if raw + b"\n" == OVERSIZED or len(raw) > MAX_LINE_BYTES:
        return f"line longer than {MAX_LINE_BYTES} bytes"
    try:
        record = json.loads(raw, parse_constant=_no_constant)  # NaN / Infinity: not JSON, never a number
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return f"not valid JSON ({exc.msg if isinstance(exc, json.JSONDecodeError) else 'bad UTF-8'})"
    except ValueError as exc:
        return f"not valid JSON ({exc})"
    if not isinstance(record, dict):
        return "not a JSON object"
    if not isinstance(record.get("timestamp"), str):
        return "missing or invalid timestamp"
    return shape_problem(record) or row_values(record)


STATUSES = (STATUS_OK, STATUS_ERROR)


def shape_problem(record: dict[str, Any]) -> str:
    """Why a record is not a call the log could hold ("" when it is): `status` other than ok / error, a
    current record (with `status`) without a text `request_id`, `model_version` not text, `input` not an
    object (an answered call's form inputs numbers), `prediction` neither an object with a score and a
    label, nor the seed's string, nor null on a refused call or an adviser's decision. The seed's older
    records (no status, no request_id) stay valid. The same rules as `parse_arrow.shape_problems`."""
    status = record.get("status", STATUS_OK)
    if status not in STATUSES:
        return "status: expected ok or error"
    if "status" in record and not isinstance(record.get("request_id"), str):
        return "request_id: missing or not text"
    if not isinstance(record.get("model_version", ""), str | None):
        return "model_version: expected text"
    inputs = record.get("input")
    if not isinstance(inputs, dict):
        return "input: missing or not an object"
    prediction = record.get("prediction")
    if prediction is None:
        answered = status != STATUS_ERROR and ADVISER_DECISION_KEY not in record
        return "prediction: missing on an answered call" if answered else ""
    if isinstance(prediction, str):
        return "" if _OLD_SCORE.search(prediction) else "prediction: text without a score"
    if not isinstance(prediction, dict):
        return "prediction: expected an object"
    score, label, decision = prediction.get("score"), prediction.get("label"), prediction.get(DECISION_KEY, 0)
    if isinstance(score, bool) or not isinstance(score, int | float | None) or not isinstance(label, str | None):
        return "prediction: score or label of the wrong type"
    if status == STATUS_OK and (score is None or label is None):
        return "prediction: an answered call without a score or a label"
    if isinstance(decision, bool) or not isinstance(decision, int | float | None):
        return "prediction decision: expected a number"  # a number other than 0/1: the label decides
    if status == STATUS_OK and any(not (v is None or isinstance(v, int | float)) for name, v in inputs.items()
                                   if name in UI_FEATURE_NAMES):
        return "input: a form value of an answered call is not a number"
    return ""


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
