"""The prediction log under faults: a real full filesystem, an unusable path, kill -9, retention bounds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.logger import PredictionLogger, log_prediction
from api.rest import create_api
from api.scoring_service import ScoringService
from monitoring.reader import read_log
from tests.helpers import VALID

PAYLOAD = {"EXT_SOURCE_1": 0.5, "CODE_GENDER_F": 1.0, "note": "é" * 100}  # ~400 bytes a line
PROJECT = Path(__file__).parents[2]


def _log(logger: PredictionLogger, request_id: str) -> None:
    log_prediction(request_id=request_id, input=PAYLOAD, prediction={"score": 0.25, "label": "✅ Faible risque"},
                   duration=0.001, model_version="v1", logger=logger)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KB tmpfs mounted under tmp_path (needs root / CAP_SYS_ADMIN; skipped otherwise)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a 64 KB tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path, leave: int) -> Path:
    """Fill the filesystem, then free `leave` bytes (a page at a time on tmpfs)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def test_a_full_disk_leaves_whole_lines_counts_exactly_and_health_recovers(small_disk: Path) -> None:
    path = small_disk / "predictions.log"
    logger = PredictionLogger(path, interval=0.01)
    filler = _fill(small_disk, leave=8192)
    for i in range(60):  # ~24 KB in one batch for 8 KB of room: a short write, then ENOSPC
        _log(logger, f"full-{i}")
    assert logger.flush()
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""  # the file ends with a whole line
    records = [json.loads(line) for line in lines[:-1]]  # a cut line would fail here
    assert 0 < len(records) < 60
    stats = logger.stats()
    assert stats["written"] == len(records) and stats["failures"] == 60 - len(records)
    assert stats["status"] == "failing" and stats["last_failure_at"] and "space" in stats["last_error"]

    filler.unlink()  # space is freed: the next records go in whole, the status comes back
    for i in range(20):
        _log(logger, f"after-{i}")
    assert logger.flush()
    logger.close()
    ids = [json.loads(line)["request_id"] for line in path.read_text(encoding="utf-8").splitlines()]
    assert ids == [r["request_id"] for r in records] + [f"after-{i}" for i in range(20)]
    stats = logger.stats()
    assert stats["written"] == len(ids) and stats["failures"] == 60 - len(records)
    assert stats["status"] == "ok" and stats["failing_since"] is None and stats["last_failure_at"]
    assert read_log(path).corrupt_lines == 0


def test_the_served_health_is_degraded_only_while_the_disk_is_full(small_disk: Path, predictor) -> None:
    service = ScoringService(predictor, PredictionLogger(small_disk / "predictions.log", interval=0.01))
    with TestClient(create_api(service)) as client:
        filler = _fill(small_disk, leave=0)
        assert all(client.post("/api/predict", json=VALID).status_code == 200 for _ in range(5))
        service.logger.flush()
        failing = client.get("/health").json()
        filler.unlink()
        assert client.post("/api/predict", json=VALID).status_code == 200
        service.logger.flush()
        recovered = client.get("/health").json()
    service.logger.close()
    assert failing["status"] == "degraded" and failing["logger"]["status"] == "failing"
    assert recovered["status"] == "ok" and recovered["logger"]["status"] == "ok"
    assert recovered["logger"]["failures"] == 5 and recovered["logger"]["written"] == 1
    assert str(small_disk) not in json.dumps(recovered)  # no absolute path in /health


def test_health_recovers_when_idle_once_space_is_freed(small_disk: Path) -> None:
    path = small_disk / "predictions.log"
    logger = PredictionLogger(path, interval=0.01)
    filler = _fill(small_disk, leave=0)
    _log(logger, "lost")
    assert logger.flush() and logger.stats()["status"] == "failing"
    filler.unlink()
    deadline = time.monotonic() + 10
    while logger.failing and time.monotonic() < deadline:  # no traffic: the writer probes the folder
        time.sleep(0.1)
    logger.close()
    assert logger.stats()["status"] == "ok" and logger.stats()["failures"] == 1


def test_an_unusable_log_path_is_reported_at_start(tmp_path: Path, caplog) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    logger = PredictionLogger(blocker / "logs" / "predictions.log")
    try:
        stats = logger.stats()  # before any call
        assert stats["status"] == "failing" and stats["failures"] == 0
        assert "a-file is a file" in stats["last_error"] and str(tmp_path) not in stats["last_error"]
        assert logger.check_writable() == stats["last_error"]
        assert any("[prediction log]" in r.getMessage() and r.name == "api.logger" for r in caplog.records)
    finally:
        logger.close()
    good = PredictionLogger(tmp_path / "new" / "predictions.log")
    good.close()
    assert good.check_writable() is None and good.stats()["status"] == "ok"
    assert not (tmp_path / "new").exists()  # the check creates nothing


_KILLED = """
import os, signal, sys
from api.logger import PredictionLogger, log_prediction
logger = PredictionLogger(sys.argv[1], sync=sys.argv[2])
for i in range(300):
    log_prediction(request_id=str(i), input={}, prediction=None, duration=0.0, model_version=None, logger=logger)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("sync", ["1", "fsync"])
def test_with_log_sync_a_call_is_on_disk_before_it_returns_even_under_kill_9(tmp_path: Path, sync: str) -> None:
    path = tmp_path / "p.log"
    done = subprocess.run([sys.executable, "-c", _KILLED, str(path), sync], cwd=PROJECT, timeout=60, check=False)
    assert done.returncode == -signal.SIGKILL
    ids = [json.loads(line)["request_id"] for line in path.read_text().splitlines()]
    assert ids == [str(i) for i in range(300)]


def test_the_default_queue_loses_calls_under_kill_9(tmp_path: Path) -> None:
    """What LOG_SYNC is for: without it, the calls of the last interval are in memory only."""
    path = tmp_path / "p.log"
    subprocess.run([sys.executable, "-c", _KILLED, str(path), "0"], cwd=PROJECT, timeout=60, check=False)
    on_disk = len(path.read_text().splitlines()) if path.exists() else 0
    assert on_disk < 300


def test_log_sync_is_read_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LOG_SYNC", "1")
    logger = PredictionLogger(tmp_path / "p.log")
    _log(logger, "now")
    assert json.loads((tmp_path / "p.log").read_text())["request_id"] == "now"  # no flush needed
    logger.close()
    monkeypatch.setenv("LOG_SYNC", "sometimes")
    with pytest.raises(ValueError, match="LOG_SYNC"):
        PredictionLogger(tmp_path / "q.log")


def _rotated(path: Path, n: int, size: int, age_days: float) -> Path:
    old = path.with_name(f"{path.name}.{n}")
    old.write_bytes(b"x" * (size - 1) + b"\n")
    moment = time.time() - age_days * 86_400
    os.utime(old, (moment, moment))
    return old


def test_rotated_files_past_the_age_bound_are_deleted(tmp_path: Path) -> None:
    path = tmp_path / "predictions.log"
    recent, old, older = _rotated(path, 1, 100, 1), _rotated(path, 2, 100, 40), _rotated(path, 3, 100, 50)
    logger = PredictionLogger(path, max_age_days=30)
    _log(logger, "one")
    logger.close()
    assert recent.exists() and not old.exists() and not older.exists() and path.exists()


def test_the_oldest_rotated_files_go_past_the_total_size_bound(tmp_path: Path) -> None:
    path = tmp_path / "predictions.log"
    files = [_rotated(path, n, 10_000, 0) for n in range(1, 6)]  # 50 KB of rotated files
    logger = PredictionLogger(path, max_bytes=8_000, max_total_bytes=25_000)
    _log(logger, "one")
    logger.close()
    kept = [f for f in files if f.exists()]
    assert kept == files[:2]  # .1 and .2 (the newest) fit with the live file; .3-.5 are deleted
    assert sum(f.stat().st_size for f in [*kept, path]) <= 25_000


def test_the_live_file_is_rotated_once_its_first_record_is_a_day_old(tmp_path: Path) -> None:
    path = tmp_path / "predictions.log"
    path.write_text('{"timestamp":"2020-01-01T00:00:00+00:00","request_id":"old"}\n')
    logger = PredictionLogger(path)
    _log(logger, "new")
    logger.close()
    assert "old" in path.with_name("predictions.log.1").read_text()
    assert json.loads(path.read_text())["request_id"] == "new"


def test_each_record_names_its_replica(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REPLICA_ID", "api-2")
    logger = PredictionLogger(tmp_path / "p.log")
    _log(logger, "one")
    logger.close()
    assert json.loads((tmp_path / "p.log").read_text())["replica"] == "api-2"


def test_the_launched_app_says_at_start_that_it_cannot_log(model_dir: Path, tmp_path: Path) -> None:
    from tests.helpers import free_port, launched

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    port = free_port()
    console = tmp_path / "server.out"
    env = {"MODEL_DIR": str(model_dir), "LOG_PATH": str(blocker / "predictions.log"), "HOST": "127.0.0.1",
           "PORT": str(port)}
    with launched(["app_gradio.py"], f"http://127.0.0.1:{port}/health", env=env, log_file=console):
        pass
    out = console.read_text()
    assert "WARNING: predictions cannot be logged" in out and "a-file is a file" in out
    assert "logging to" not in out
