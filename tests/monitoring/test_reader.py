"""Reading the log: corrupt lines, the seed's older records, unknown keys, rotated files, time windows."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from monitoring import blocks, parse_arrow, reader
from monitoring.reader import read_log, refresh
from monitoring.records import APPLICANT, CPU, DURATION, ERROR, FILE, HIGH_RISK, LINE, SCORE, SOURCE, parse_prediction
from monitoring.sources import LogReadError, log_files
from scoring.schema import EXT_SOURCE_2, LABEL_HIGH_RISK, LABEL_LOW_RISK, STATUS_ERROR, UI_FEATURE_NAMES, LogRecord

INPUT = {name: 0.5 if "EXT" in name else 1 for name in UI_FEATURE_NAMES}


def record(i: int, score: float = 0.2, **changes) -> str:
    fields = dict(timestamp=f"2026-11-26T10:{i // 60:02d}:{i % 60:02d}+00:00", request_id=f"r{i}", input=INPUT,
                  prediction={"score": score, "label": LABEL_HIGH_RISK if score >= 0.35 else LABEL_LOW_RISK},
                  duration=0.01 * (i + 1), cpu_percent=10.0, memory_usage_MB=400.0, model_version="v1")
    return LogRecord(**(fields | changes)).to_json()


def test_good_records_are_read_with_their_line_numbers(tmp_path):
    log = tmp_path / "p.log"
    log.write_text("".join(record(i, score=0.1 * i) + "\n" for i in range(5)), encoding="utf-8")
    data = read_log(log)
    assert data.n == 5 and data.corrupt_lines == 0
    assert data.frame[LINE].tolist() == [1, 2, 3, 4, 5]
    assert data.frame[SCORE].tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert data.frame[HIGH_RISK].tolist() == [0, 0, 0, 0, 1]
    assert data.frame[EXT_SOURCE_2].tolist() == [0.5] * 5
    assert data.where(3) == {"file": str(log), "line": 4}


def test_corrupt_and_truncated_lines_are_skipped_and_counted(tmp_path):
    log = tmp_path / "p.log"
    lines = [record(0), "not json at all", record(1), "[1, 2, 3]", '{"request_id": "no timestamp"}',
             record(2, timestamp="yesterday-ish"), "", record(3), record(4)[:57]]  # last line cut mid-write
    log.write_text("\n".join(lines), encoding="utf-8")
    data = read_log(log)
    assert data.n == 3
    assert data.frame[LINE].tolist() == [1, 3, 8]
    assert data.corrupt_lines == 5
    reasons = {e["line"]: e["reason"] for e in data.corrupt_examples}
    assert reasons[2].startswith("not valid JSON") and reasons[4] == "not a JSON object"
    assert reasons[5] == "missing or invalid timestamp"


def test_invalid_bytes_are_a_corrupt_line(tmp_path):
    log = tmp_path / "p.log"
    log.write_bytes(record(0).encode() + b"\n\xff\xfe garbage\n" + record(1).encode() + b"\n")
    data = read_log(log)
    assert (data.n, data.corrupt_lines) == (2, 1)


def test_the_seeds_older_records_are_read(tmp_path):
    log = tmp_path / "p.log"
    old = {"timestamp": "2025-03-01T09:00:00", "input": INPUT, "prediction": "Score : 0.2159 → ✅ Faible risque",
           "duration": 0.12, "cpu_percent": 3.5, "memory_usage_MB": 250.0}
    old_high = old | {"prediction": "Score : 0.7312 → ❌ Risque élevé"}
    log.write_text(json.dumps(old, ensure_ascii=False) + "\n" + json.dumps(old_high, ensure_ascii=False) + "\n"
                   + record(0) + "\n", encoding="utf-8")
    data = read_log(log)
    assert data.n == 3 and data.corrupt_lines == 0
    assert data.frame[SCORE].tolist()[:2] == pytest.approx([0.2159, 0.7312])
    assert data.frame[HIGH_RISK].tolist() == [0, 1, 0]
    assert str(data.frame["timestamp"].iloc[0]) == "2025-03-01 09:00:00+00:00"  # no offset: taken as UTC


@pytest.mark.parametrize(("prediction", "expected"), [
    ({"score": 0.4, "label": LABEL_HIGH_RISK}, (0.4, 1.0)),
    ("Score : 0.2159 → ✅ Faible risque", (0.2159, 0.0)),
    ("score: 9e-1 -> ❌ Risque élevé", (0.9, 1.0)),
    ("Score : n/a", (math.nan, math.nan)),
    (None, (math.nan, math.nan)),
    ({"score": "high"}, (math.nan, math.nan)),
])
def test_parse_prediction(prediction, expected):
    assert parse_prediction(prediction) == pytest.approx(expected, nan_ok=True)


def test_unknown_keys_booleans_and_errors_are_tolerated(tmp_path):
    log = tmp_path / "p.log"
    extra = json.loads(record(0)) | {"client": "gradio", "trace": {"a": [1, 2]}}
    extra["input"] = INPUT | {"AMT_CREDIT": 1000.0, "CODE_GENDER_F": True}
    error = LogRecord("2026-11-26T10:00:01+00:00", "e1", {"EXT_SOURCE_2": "abc"}, None, 0.002, 5.0, 400.0, "v1",
                      STATUS_ERROR, "EXT_SOURCE_2: expected a number")
    log.write_text(json.dumps(extra) + "\n" + error.to_json() + "\n", encoding="utf-8")
    data = read_log(log)
    assert data.n == 2 and data.corrupt_lines == 0
    assert data.frame["CODE_GENDER_F"].iloc[0] == 1.0
    assert data.frame[ERROR].tolist() == [False, True]
    assert np.isnan(data.frame[EXT_SOURCE_2].iloc[1]) and np.isnan(data.frame[SCORE].iloc[1])


def test_rotated_files_are_read_oldest_first(tmp_path):
    log = tmp_path / "predictions.log"
    (tmp_path / "predictions.log.2").write_text(record(0) + "\n" + record(1) + "\n")
    (tmp_path / "predictions.log.1").write_text(record(2) + "\n")
    log.write_text(record(3) + "\n" + record(4) + "\n")
    (tmp_path / "predictions.log.bak").write_text("not a rotated file\n")
    assert [p.name for p in log_files(log)] == ["predictions.log.2", "predictions.log.1", "predictions.log"]
    data = read_log(log)
    assert data.frame["timestamp"].is_monotonic_increasing
    assert data.frame[DURATION].tolist() == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.05])
    assert [data.where(i) for i in (1, 2, 3)] == [{"file": str(tmp_path / "predictions.log.2"), "line": 2},
                                                  {"file": str(tmp_path / "predictions.log.1"), "line": 1},
                                                  {"file": str(log), "line": 1}]
    assert data.frame[FILE].tolist() == [0, 0, 1, 2, 2]


def test_rotated_files_are_read_when_the_current_one_is_missing(tmp_path):
    (tmp_path / "predictions.log.1").write_text(record(0) + "\n")
    assert read_log(tmp_path / "predictions.log").n == 1


def test_missing_log_and_folder_raise(tmp_path):
    with pytest.raises(LogReadError, match="no log at"):
        read_log(tmp_path / "absent.log")
    with pytest.raises(LogReadError, match="is a folder"):
        read_log(tmp_path)


def test_since_and_until(tmp_path):
    log = tmp_path / "p.log"
    log.write_text("".join(record(i) + "\n" for i in range(10)))
    data = read_log(log, since=datetime(2026, 11, 26, 10, 0, 3, tzinfo=UTC), until=datetime(2026, 11, 26, 10, 0, 7))
    assert data.frame[LINE].tolist() == [4, 5, 6, 7]


def test_fast_and_tolerant_paths_agree_across_blocks(tmp_path, monkeypatch):
    """Small blocks force several pyarrow blocks, one of which falls back to the line-by-line parse."""
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 2048)
    log = tmp_path / "p.log"
    lines = [record(i, score=i / 100, cpu_percent=float(i)) for i in range(60)]
    lines[33] = "{broken"
    for i in (10, 45):  # rejected calls whose input pyarrow's typed parse cannot take
        lines[i] = record(i, cpu_percent=float(i), input={EXT_SOURCE_2: "abc"}, prediction=None, status=STATUS_ERROR)
    lines[46] = lines[46][:-1] + ',"status":"error"'  # a second error, but not valid JSON
    log.write_text("\n".join(lines) + "\n")
    data = read_log(log)
    assert data.corrupt_lines == 2 and data.n == 58
    assert sorted(e["line"] for e in data.corrupt_examples) == [34, 47]
    expected_lines = [i + 1 for i in range(60) if i not in (33, 46)]
    assert data.frame[LINE].tolist() == expected_lines
    assert data.frame[CPU].tolist() == [float(i - 1) for i in expected_lines]
    assert data.frame.loc[data.frame[ERROR], LINE].tolist() == [11, 46]


def _lines_parsed(monkeypatch) -> list[int]:
    parsed: list[int] = []
    original = reader.parse_block

    def counting(block, n_lines, *args):
        parsed.append(n_lines)
        return original(block, n_lines, *args)

    monkeypatch.setattr(reader, "parse_block", counting)
    return parsed


def test_refresh_parses_only_appended_lines(tmp_path, monkeypatch):
    log = tmp_path / "predictions.log"
    (tmp_path / "predictions.log.1").write_text(record(0) + "\n")
    log.write_text("".join(record(i) + "\n" for i in range(1, 6)))
    data = read_log(log)
    assert refresh(data, log) is data  # nothing changed
    with open(log, "a") as fh:
        fh.write("".join(record(i) + "\n" for i in range(6, 9)))
    parsed = _lines_parsed(monkeypatch)
    fresh = refresh(data, log)
    assert parsed == [3]
    pd.testing.assert_frame_equal(fresh.frame, read_log(log).frame)
    assert data.n == 6 and fresh.n == 9  # the first read is left as it was


def test_refresh_rereads_a_completed_last_line(tmp_path):
    log = tmp_path / "predictions.log"
    full = record(1)
    log.write_text(record(0) + "\n" + full[:40])  # being written
    data = read_log(log)
    assert (data.n, data.corrupt_lines) == (1, 1)
    with open(log, "a") as fh:
        fh.write(full[40:] + "\n" + record(2) + "\n")
    fresh = refresh(data, log)
    assert (fresh.n, fresh.corrupt_lines, fresh.corrupt_examples) == (3, 0, [])
    assert fresh.frame[LINE].tolist() == [1, 2, 3]


def test_refresh_after_rotation_or_rewrite_reads_everything(tmp_path, monkeypatch):
    log = tmp_path / "predictions.log"
    log.write_text(record(0) + "\n" + record(1) + "\n")
    data = read_log(log)
    log.rename(tmp_path / "predictions.log.1")  # rotation: the file moves, a new one starts
    log.write_text(record(2) + "\n")
    parsed = _lines_parsed(monkeypatch)
    rotated = refresh(data, log)
    assert sorted(parsed) == [1, 2] and rotated.n == 3 and len(rotated.files) == 2
    log.write_text(record(3) + "\n")  # rewritten shorter
    rewritten = refresh(rotated, log)
    assert rewritten.frame[DURATION].tolist() == pytest.approx([0.01, 0.02, 0.04])


def test_reader_reads_the_keys_the_logger_writes():
    """The columnar reader names log keys itself: they must be LogRecord's (or an extra key the service
    writes: the adviser decision's on its own lines, the out-of-range flag on a scored call's), and its
    error mark too."""
    from scoring.schema import ADVISER_DECISION_KEY, LOG_RECORD_KEYS, OUT_OF_RANGE_KEY, STATUS_ERROR, LogRecord

    assert {f.name for f in parse_arrow.SCHEMA} <= set(LOG_RECORD_KEYS) | {ADVISER_DECISION_KEY, OUT_OF_RANGE_KEY}
    line = LogRecord("2026-01-01T00:00:00+00:00", "r", {}, None, 0.1, 1.0, 2.0, "v", status=STATUS_ERROR).to_json()
    assert blocks.ERROR_MARK.decode() in line


def test_the_logged_decision_is_read_and_older_records_derive_it_from_the_label(tmp_path, monkeypatch):
    """`prediction.decision` is the decision; a record without it (older logs) gets its label's. Both parsers."""
    lines = [record(0, score=0.5),  # older: no decision, high-risk label
             record(1, score=0.1),  # older: low-risk label
             record(2, prediction={"score": 0.2, "label": LABEL_LOW_RISK, "decision": 1}),  # the decision wins
             record(3, prediction={"score": 0.2, "label": "autre", "decision": 0}),
             record(4, prediction={"score": 0.2, "label": "autre"}),  # neither: unknown
             record(5, prediction={"score": 0.9, "label": LABEL_HIGH_RISK, "decision": 7}),  # not 0/1: the label
             record(6, prediction={"score": 0.9, "label": f"{LABEL_HIGH_RISK} (à étudier)"}),  # holds the label
             record(7, prediction="Score : 0.2159 → ❌ Risque élevé")]  # the seed's string form
    log = tmp_path / "p.log"
    log.write_text("\n".join(lines) + "\n")
    expected = [1.0, 0.0, 1.0, 0.0, math.nan, 1.0, 1.0, 1.0]
    fast = read_log(log).frame[HIGH_RISK].tolist()
    monkeypatch.setattr(parse_arrow, "USE_PYARROW", False)
    slow = read_log(log).frame[HIGH_RISK].tolist()
    np.testing.assert_array_equal(fast, expected)
    np.testing.assert_array_equal(slow, expected)


def test_source_and_applicant_id_are_read_and_absent_in_older_records(tmp_path, monkeypatch):
    lines = [record(0), record(1, source="dossier", applicant_id=100002), record(2, source="api"),
             record(3, source="what-if", applicant_id=100003), record(4, applicant_id=True)]
    log = tmp_path / "p.log"
    log.write_text("\n".join(lines) + "\n")
    frames = [read_log(log).frame]
    monkeypatch.setattr(parse_arrow, "USE_PYARROW", False)
    frames.append(read_log(log).frame)
    for frame in frames:
        assert frame[SOURCE].astype(object).where(frame[SOURCE].notna(), None).tolist() == [
            None, "dossier", "api", "what-if", None]
        assert frame[APPLICANT].dtype == "Int64"
        assert frame[APPLICANT].tolist()[1:4] == [100002, pd.NA, 100003]
        assert frame[APPLICANT].isna().tolist() == [True, False, True, False, True]
