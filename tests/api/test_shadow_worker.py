"""The challenger's process writes out the shadowed calls' lines; the service appends them: a line describes
the service (its CPU, memory, replica) and the call's time, a worker killed with a batch in flight leaves
each call logged once, and a line the worker cannot write is the service's logger's failure to count."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime
from pathlib import Path

import pytest

from api.log_writer import PredictionLogger
from api.logger import log_prediction
from api.shadow import Shadow
from scoring import schema
from serving.predictor import Predictor
from tests.fixture_model import build_model_dir

FIGURES = (12.5, 4321.0)  # the service's CPU % and memory as its logger states them (not the worker's)


@pytest.fixture(scope="module")
def challenger(tmp_path_factory: pytest.TempPathFactory) -> Predictor:
    return Predictor.from_dir(build_model_dir(tmp_path_factory.mktemp("challenger"), seed=4, n_estimators=25))


def record(i: int, **changes) -> dict:
    return {"request_id": f"r{i}", "input": {schema.EXT_SOURCE_1: 0.1 + i / 100, "note": "é"},
            "prediction": {"score": 0.2, "label": schema.LABEL_LOW_RISK, "decision": 0, "grade": "B"},
            "duration": 0.001 + i / 1e5, "model_version": "v1", "client": "alice", "source": "api",
            "applicant_id": None} | changes


def submit(shadow: Shadow, predictor: Predictor, ids: range) -> None:
    names = (schema.EXT_SOURCE_1, schema.EXT_SOURCE_2, schema.EXT_SOURCE_3)
    for i in ids:
        assert shadow.submit(record(i), names, (0.1 + i / 100, 0.5, 0.6))


def lines_of(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_a_worker_killed_with_a_batch_in_flight_leaves_each_call_logged_once(predictor, challenger, tmp_path,
                                                                              monkeypatch):
    import api.shadow as shadow_module

    monkeypatch.setattr(shadow_module, "REPLY_TIMEOUT", 60.0)
    logger = PredictionLogger(tmp_path / "p.log")
    shadow = Shadow(logger, challenger)
    submit(shadow, predictor, range(10))
    assert shadow.drain(120)
    pid = shadow.worker.process.pid
    os.kill(pid, signal.SIGSTOP)  # frozen: the next batch is sent and waits for its answer
    submit(shadow, predictor, range(10, 40))
    deadline = time.monotonic() + 30
    while shadow._pending and time.monotonic() < deadline:  # the sender took the batch
        time.sleep(0.01)
    time.sleep(0.3)  # and sent it
    assert not shadow._pending and shadow._done < shadow._submitted  # in flight
    os.kill(pid, signal.SIGKILL)
    assert shadow.drain(60)
    assert shadow.status()[0] == "degraded" and str(pid) in shadow.status()[1]
    shadow.close()
    logger.close()
    lines = lines_of(tmp_path / "p.log")
    assert sorted(r["request_id"] for r in lines) == sorted(f"r{i}" for i in range(40))  # each once
    by_id = {r["request_id"]: r for r in lines}
    assert all("challenger_score" in by_id[f"r{i}"] for i in range(10))
    for i in range(10, 40):
        r = by_id[f"r{i}"]
        assert r["challenger_skipped"] == "worker_down" and "challenger_score" not in r
        assert r["challenger_version"] == challenger.model_version
    assert shadow.stats()["scored"] == 10 and shadow.stats()["skipped"]["worker_down"] == 30
    assert logger.stats()["failures"] == 0


def test_the_workers_lines_are_the_services_own_for_the_same_call(predictor, challenger, tmp_path, monkeypatch):
    logger = PredictionLogger(tmp_path / "p.log", replica="replica-7")
    monkeypatch.setattr(logger, "figures", lambda: FIGURES)
    shadow = Shadow(logger, challenger)
    before = time.time()
    submit(shadow, predictor, range(5))
    after = time.time()
    assert shadow.drain(120)
    shadow.close()
    logger.close()
    lines = lines_of(tmp_path / "p.log")
    assert len(lines) == 5
    # what the service's own writer makes of the same call with the same challenger fields
    reference = PredictionLogger(tmp_path / "ref.log", replica="replica-7")
    monkeypatch.setattr(reference, "figures", lambda: FIGURES)
    for r in lines:
        stamp = datetime.fromisoformat(r["timestamp"]).timestamp()
        assert before - 1e-3 <= stamp <= after + 1e-3  # the call's time, not the worker's answer's
        assert (r["cpu_percent"], r["memory_usage_MB"], r["replica"]) == (*FIGURES, "replica-7")  # the service's
        assert r["challenger_score"] == pytest.approx(
            challenger.score({schema.EXT_SOURCE_1: r["input"][schema.EXT_SOURCE_1], schema.EXT_SOURCE_2: 0.5,
                              schema.EXT_SOURCE_3: 0.6}), abs=1e-7)
        fields = {k: r[k] for k in schema.CHALLENGER_FIELDS if k in r}
        log_prediction(**record(int(r["request_id"][1:])), extra=fields, logger=reference)
    reference.close()
    theirs = {r["request_id"]: r for r in lines_of(tmp_path / "ref.log")}
    for r in lines:
        assert {k: v for k, v in r.items() if k != "timestamp"} == \
            {k: v for k, v in theirs[r["request_id"]].items() if k != "timestamp"}


def test_a_line_the_worker_cannot_write_is_the_services_failure_to_count(predictor, challenger, tmp_path):
    logger = PredictionLogger(tmp_path / "p.log")
    shadow = Shadow(logger, challenger)
    names = (schema.EXT_SOURCE_1,)
    assert shadow.submit(record(0), names, (0.3,))
    assert shadow.submit(record(1, input={"odd": {1, 2}}), names, (0.3,))  # pickles, but is not JSON
    assert shadow.submit(record(2), names, (0.3,))
    assert shadow.drain(120)
    shadow.close()
    logger.close()
    assert [r["request_id"] for r in lines_of(tmp_path / "p.log")] == ["r0", "r2"]
    stats = logger.stats()
    assert stats["failures"] == 1 and "r1" in stats["last_error"]  # what /health shows
    assert shadow.stats()["scored"] == 3  # the challenger scored it; only its line failed


def test_with_log_sync_a_shadowed_line_is_on_disk_once_drained(predictor, challenger, tmp_path):
    logger = PredictionLogger(tmp_path / "p.log", sync="1")
    shadow = Shadow(logger, challenger)
    submit(shadow, predictor, range(3))
    assert shadow.drain(120)
    assert [r["request_id"] for r in lines_of(tmp_path / "p.log")] == ["r0", "r1", "r2"]  # no writer pass waited
    shadow.close()
    logger.close()


def test_lines_beyond_the_queue_are_dropped_and_counted(tmp_path):
    logger = PredictionLogger(tmp_path / "p.log", queue_size=3, interval=60)
    logger.log_lines([b'{"request_id":"a"}\n', b'{"request_id":"b"}\n'])
    logger.log_lines([b'{"request_id":"c"}\n', b'{"request_id":"d"}\n'])
    assert logger.stats()["dropped"] == 1 and logger.stats()["failures"] == 1
    logger.close()
    assert [json.loads(x)["request_id"] for x in (tmp_path / "p.log").read_text().splitlines()] == ["a", "b", "c"]
