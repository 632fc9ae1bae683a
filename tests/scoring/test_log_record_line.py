"""`LogRecord.line` (the log writer's path) writes the very bytes of `LogRecord(...).to_line()`."""

from __future__ import annotations

import pytest

from scoring.schema import CHALLENGER_SCORE_KEY, LogRecord

BASE = {"timestamp": "2026-12-06T18:00:00.000001+00:00", "request_id": "ab" * 16,
        "input": {"EXT_SOURCE_1": 0.5, "FLAG_DOCUMENT_3": 1.0}, "prediction": {"score": 0.2, "label": "x"},
        "duration": 0.000123, "cpu_percent": 12.5, "memory_usage_MB": 410.2, "model_version": "v1"}


@pytest.mark.parametrize("changes", [
    {},
    {"status": "error", "error": "EXT_SOURCE_1: must be in [0, 1]", "prediction": None},
    {"client": "alice", "replica": "r1", "source": "dossier", "applicant_id": 100002},
    {CHALLENGER_SCORE_KEY: 0.3, "challenger_version": "v2", "challenger_decision": 1, "challenger_duration": 0.001},
    {"extra": {"adviser_decision": {"final": "accept"}}, "input": {"n": 2**70}},  # json.dumps fallback
    {"input": {"x": float("nan")}},  # written null, as to_line does
])
def test_the_writers_line_is_the_records_line(changes: dict) -> None:
    values = BASE | changes
    assert LogRecord.line(**dict(values)) == LogRecord(**values).to_line()


def test_a_missing_or_unknown_field_is_refused_as_by_the_record() -> None:
    with pytest.raises(TypeError):
        LogRecord.line(**{k: v for k, v in BASE.items() if k != "duration"})
    with pytest.raises(TypeError):
        LogRecord.line(**BASE, durration=1.0)


@pytest.mark.parametrize("changes", [
    {},
    {"status": "error", "error": "EXT_SOURCE_1: must be in [0, 1]", "prediction": None, "model_version": None},
    {"client": "alice", "replica": "r1", "source": "dossier", "applicant_id": 100002},
    {"challenger_skipped": "sampled_out", "challenger_version": "v2", "source": "api"},
    {"extra": {"adviser_decision": {"final": "accept"}, "note": "é"}, "input": {"n": 2**70}},
])
def test_log_line_from_values_in_order_is_the_records_line(changes: dict) -> None:
    """The writer's positional path: the head's nine values, then the optional ones (None: left out), then extra."""
    from scoring.schema import _HEAD_KEYS, _TAIL_KEYS, log_line

    values = BASE | {"status": "ok"} | changes
    head = tuple(values[k] for k in _HEAD_KEYS)
    tail = tuple(values.get(k) for k in _TAIL_KEYS)
    expected = LogRecord(**values).to_line()
    assert log_line(head, tail, values.get("extra")) == expected
    while tail and tail[-1] is None:  # a shorter tail: the rest None
        tail = tail[:-1]
        assert log_line(head, tail, values.get("extra")) == expected
