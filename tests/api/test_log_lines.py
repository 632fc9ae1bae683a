"""The log writer's lines are the shared record's bytes (`LogRecord(...).to_line()`), whatever the kind of
call, and its timestamps are `datetime.isoformat`'s to the character."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime
from pathlib import Path

from api.log_writer import PredictionLogger, utc_iso
from scoring.schema import CHALLENGER_SCORE_KEY, LogRecord


def test_utc_iso_is_the_isoformat_of_the_timestamp() -> None:
    rng = random.Random(7)
    now = time.time()
    stamps = [now + rng.uniform(-2e9, 2e9) for _ in range(50_000)]
    # half-microsecond edges: rounded half to even, carried into the next second
    stamps += [s + d for s in (1e9, 1.7e9, 1_765_000_000.999999) for d in (5e-7, -5e-7, 1.5e-6, 0.9999995)]
    stamps += [0.0, 0.9999995, -0.0000005, -1.5, now]
    for ts in stamps + stamps[::-1]:  # the cached second changes in both directions
        assert utc_iso(ts) == datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds"), ts


def test_each_kind_of_record_is_written_as_the_record_would_write_it(tmp_path: Path) -> None:
    logger = PredictionLogger(tmp_path / "p.log", interval=3600, replica="r1")
    ok = {"score": 0.2, "label": "✅ Faible risque", "decision": 0, "grade": "C"}
    calls = [  # (input, prediction, status, error, client, source, applicant_id, extra)
        ({"EXT_SOURCE_1": 0.5, "CODE_GENDER_F": 1}, ok, "ok", None, None, "api", None, None),
        ({"EXT_SOURCE_1": "nan"}, None, "error", "EXT_SOURCE_1: must be a number", "alice", "api", None, None),
        ({"SK_ID_CURR": 100002}, ok, "ok", None, "bob", "dossier", 100002, {}),
        ({"EXT_SOURCE_1": 0.5}, ok, "ok", None, None, "api", None,
         {CHALLENGER_SCORE_KEY: 0.31, "challenger_version": "v2", "challenger_decision": 1,
          "challenger_duration": 0.0004}),
        ({"EXT_SOURCE_1": 0.5}, ok, "ok", None, None, "api", None, {"challenger_skipped": "sampled_out"}),
        ({}, None, "ok", None, "carol", None, None, {"adviser_decision": {"final": "accept", "reason": "é"}}),
        ({"n": 2**70}, ok, "ok", None, None, "batch", None, None),  # beyond orjson: json.dumps
    ]
    ts = 1_765_040_000.1234565
    records = [(ts + i, f"id{i}", inp, pred, 0.0012345678, "v1", status, error, client, source, applicant,
                None if extra is None else dict(extra))
               for i, (inp, pred, status, error, client, source, applicant, extra) in enumerate(calls)]
    lines = logger._lines(records)
    logger.close()
    assert len(lines) == len(calls)
    for i, (line, call) in enumerate(zip(lines, calls, strict=True)):
        inp, pred, status, error, client, source, applicant, extra = call
        doc = json.loads(line)
        extra = dict(extra or {})
        shadow = {k: extra.pop(k) for k in list(extra) if k.startswith("challenger_")}
        expected = LogRecord(timestamp=datetime.fromtimestamp(ts + i, UTC).isoformat(timespec="microseconds"),
                             request_id=f"id{i}", input=inp, prediction=pred, duration=0.001235,
                             cpu_percent=doc["cpu_percent"], memory_usage_MB=doc["memory_usage_MB"],
                             model_version="v1", status=status, error=error, client=client, replica="r1",
                             source=source, applicant_id=applicant, extra=extra, **shadow)
        assert line == expected.to_line()
