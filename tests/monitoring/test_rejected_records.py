"""A tampered log (issue 19): records that are not valid calls are rejected lines with their reason, in
both parsers, and no statistic of `analyse_logs.py` counts them."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import analyse_logs
from monitoring import parse_arrow
from monitoring.reader import read_log
from scoring.schema import LABEL_LOW_RISK, LogRecord

INPUT = {"EXT_SOURCE_1": 0.4, "EXT_SOURCE_2": 0.5, "EXT_SOURCE_3": 0.6}


def good(i: int) -> dict:
    return json.loads(LogRecord(timestamp=f"2026-11-26T10:00:{i:02d}+00:00", request_id=f"r{i}", input=INPUT,
                                prediction={"score": 0.1 + i / 100, "label": LABEL_LOW_RISK, "decision": 0},
                                duration=0.01, cpu_percent=10.0, memory_usage_MB=400.0, model_version="v1",
                                ).to_json())


def tampered(base: dict) -> list[str]:
    def change(path: tuple[str, ...], value: object) -> str:
        record = copy.deepcopy(base)
        node = record
        for key in path[:-1]:
            node = node[key]
        if value is KeyError:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return json.dumps(record)

    return [change(("prediction", "score"), "0.5"), change(("prediction", "score"), float("nan")),
            change(("prediction", "score"), 7), change(("timestamp",), "not a date"), change(("timestamp",), 5),
            json.dumps([1, 2, 3]), change(("request_id",), KeyError), change(("timestamp",), KeyError),
            change(("status",), 5), change(("status",), "weird"), change(("input",), [1, 2]),
            change(("input", "EXT_SOURCE_1"), "abc"), change(("duration",), "fast"), change(("duration",), -3),
            change(("prediction",), "nonsense"), change(("prediction",), None), change(("model_version",), 5),
            change(("cpu_percent",), "x"), change(("memory_usage_MB",), [1]), change(("prediction", "label"), 3),
            change(("prediction", "decision"), "yes"), change(("input",), KeyError),
            change(("prediction",), KeyError), "null", '"a string"', change(("request_id",), 12)]


@pytest.mark.parametrize("arrow", [True, False], ids=["arrow", "line-by-line"])
def test_wrong_records_are_rejected_with_a_reason_and_counted_nowhere(tmp_path: Path, monkeypatch, arrow) -> None:
    monkeypatch.setattr(parse_arrow, "USE_PYARROW", arrow)
    calls = [good(i) for i in range(40)]
    bad = tampered(calls[0])
    clean, dirty = tmp_path / "clean.log", tmp_path / "dirty.log"
    clean.write_text("".join(json.dumps(c) + "\n" for c in calls))
    dirty.write_text("".join(json.dumps(c) + "\n" for c in calls[:20]) + "\n".join(bad) + "\n"
                     + "".join(json.dumps(c) + "\n" for c in calls[20:]))
    data = read_log(dirty, max_examples=100)
    assert (data.n, data.corrupt_lines) == (40, len(bad))
    assert sorted(e["line"] for e in data.corrupt_examples) == list(range(21, 21 + len(bad)))
    assert all(e["reason"] for e in data.corrupt_examples)
    reports = []
    for log in (clean, dirty):
        out = tmp_path / f"{log.stem}.json"
        analyse_logs.main(["--log", str(log), "--json", str(out), "-q"])
        reports.append(json.loads(out.read_text()))
    assert reports[1]["corrupt_lines"] == len(bad) and reports[0]["corrupt_lines"] == 0
    assert reports[1]["stats"] == reports[0]["stats"]  # every statistic as if the rejected lines were absent
