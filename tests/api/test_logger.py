"""The prediction log: whole lines under threads and processes, rotation, failures, flush at exit."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from api.logger import PredictionLogger, log_prediction
from scoring.schema import LOG_RECORD_KEYS, LogRecord

PAYLOAD = {"EXT_SOURCE_1": 0.5, "CODE_GENDER_F": 1.0, "note": "é" * 50}  # multi-byte text: whole lines matter


def _all_lines(path: Path) -> list[str]:
    files = sorted(path.parent.glob(path.name + ".*[0-9]"), key=lambda p: -int(p.suffix[1:])) + [path]
    return [line for f in files if f.exists() for line in f.read_text(encoding="utf-8").splitlines()]


def _log(logger: PredictionLogger, request_id: str) -> None:
    log_prediction(request_id=request_id, input=PAYLOAD, prediction={"score": 0.25, "label": "✅ Faible risque"},
                   duration=0.001, model_version="v1", logger=logger)


def _check_records(lines: list[str], expected_ids: set[str]) -> None:
    records = [json.loads(line) for line in lines]  # any torn or interleaved line fails here
    ids = [r["request_id"] for r in records]
    assert len(ids) == len(set(ids)) == len(expected_ids)
    assert set(ids) == expected_ids
    for r in records:
        assert set(r) <= set(LOG_RECORD_KEYS) and r["input"] == PAYLOAD and r["status"] == "ok"
        assert r["cpu_percent"] is not None and r["memory_usage_MB"] > 0
        assert r["timestamp"].endswith("+00:00")


def test_eight_threads_times_two_hundred_calls_give_1600_lines(tmp_path: Path) -> None:
    logger = PredictionLogger(tmp_path / "predictions.log")
    threads = [threading.Thread(target=lambda t=t: [_log(logger, f"t{t}-{i}") for i in range(200)])
               for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    logger.close()
    lines = _all_lines(logger.path)
    assert len(lines) == 1600
    _check_records(lines, {f"t{t}-{i}" for t in range(8) for i in range(200)})
    assert logger.stats()["failures"] == 0 and logger.stats()["written"] == 1600


def _process_worker(path: str, worker: int, n: int, max_bytes: int) -> None:
    logger = PredictionLogger(path, max_bytes=max_bytes, backups=1000)
    for i in range(n):
        _log(logger, f"p{worker}-{i}")
        if i % 50 == 0:
            logger.flush()  # interleave the processes' batches
    logger.close()


@pytest.mark.parametrize("max_bytes", [1 << 30, 40_000], ids=["no-rotation", "rotating"])
def test_several_processes_append_whole_lines(tmp_path: Path, max_bytes: int) -> None:
    path = tmp_path / "predictions.log"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_worker, args=(str(path), w, 300, max_bytes)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = _all_lines(path)
    _check_records(lines, {f"p{w}-{i}" for w in range(4) for i in range(300)})
    rotated = list(tmp_path.glob("predictions.log.*[0-9]"))
    assert bool(rotated) == (max_bytes < 1 << 30)


def test_rotation_by_size_keeps_the_newest_and_the_order(tmp_path: Path) -> None:
    path = tmp_path / "predictions.log"
    logger = PredictionLogger(path, max_bytes=5_000, backups=3, interval=0.001)
    for i in range(200):
        _log(logger, f"r{i:03d}")
        logger.flush()  # one record per write: rotation can happen at any line
    logger.close()
    files = sorted(tmp_path.glob("predictions.log.*[0-9]"))
    assert [f.name for f in files] == ["predictions.log.1", "predictions.log.2", "predictions.log.3"]
    for f in [*files, path]:
        assert f.stat().st_size <= 5_000
    ids = [json.loads(line)["request_id"] for line in _all_lines(path)]
    assert ids == sorted(ids) and ids[-1] == "r199"  # .3 → .2 → .1 → current is oldest → newest
    assert 0 < len(ids) < 200  # the oldest files were dropped past 3 backups


def test_records_queued_before_close_are_all_written(tmp_path: Path) -> None:
    logger = PredictionLogger(tmp_path / "p.log")
    for i in range(3000):
        _log(logger, f"c{i}")
    logger.close()  # no flush: close must drain the queue
    assert len(_all_lines(logger.path)) == 3000


def test_records_are_flushed_when_the_process_exits(tmp_path: Path) -> None:
    path = tmp_path / "p.log"
    code = ("from api.logger import log_prediction\n"
            "for i in range(500):\n"
            "    log_prediction(request_id=str(i), input={}, prediction=None, duration=0.0, model_version=None,"
            " status='error', error='x')\n")
    env_path = {"LOG_PATH": str(path)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2],
                   env={**__import__("os").environ, **env_path}, timeout=60)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) == 500 and records[0]["status"] == "error" and records[0]["error"] == "x"


def test_a_full_queue_drops_and_counts_without_blocking(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    logger = PredictionLogger(blocker / "p.log", queue_size=10)
    for i in range(1000):
        _log(logger, str(i))  # must return at once even though nothing can be written
    logger.close()
    stats = logger.stats()
    assert stats["written"] == 0
    assert stats["failures"] >= 1000 - 10 and stats["dropped"] >= 1
    assert stats["last_error"]


def test_lines_read_back_into_the_shared_record(tmp_path: Path) -> None:
    logger = PredictionLogger(tmp_path / "p.log")
    _log(logger, "one")
    logger.close()
    doc = json.loads(logger.path.read_text())
    record = LogRecord(**doc)
    assert record.to_json() == logger.path.read_text().strip()
