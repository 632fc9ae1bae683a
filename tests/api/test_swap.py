"""A launched app under load while `promote.py` swaps its model: no call fails, each answer names the old or the
new version, the log holds one line per answer naming the version that answered, and after the swap only
the new version scores. A tampered model put in the serving folder is refused; the old one keeps serving."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

import promote
from lifecycle.folders import exchange
from scoring.schema import MODEL_FILE
from serving.predictor import Predictor
from tests.fixture_model import build_model_dir
from tests.helpers import VALID, free_port, launched
from tests.lifecycle.conftest import write_features

pytestmark = pytest.mark.slow

THREADS, CALLS_PER_THREAD = 4, 800


def _health(url: str) -> dict:
    return httpx.get(f"{url}/health", timeout=10).json()


def _wait(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_promotion_under_load_swaps_without_a_failed_call(tmp_path: Path, model_dir: Path) -> None:
    serving = tmp_path / "serving" / "models"
    shutil.copytree(model_dir, serving)
    candidate = build_model_dir(tmp_path / "candidate", seed=8, n_estimators=40)
    old, new = Predictor.from_dir(serving).model_version, Predictor.from_dir(candidate).model_version
    assert old != new
    holdout = write_features(tmp_path / "holdout.csv", 1500, 21)
    log = tmp_path / "logs" / "predictions.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"MODEL_DIR": str(serving), "LOG_PATH": str(log), "HOST": "127.0.0.1", "PORT": str(port),
           "HF_HUB_OFFLINE": "1", "MODEL_WATCH_SECONDS": "0.2", "CHALLENGER_DIR": str(tmp_path / "none")}
    answers: list[tuple[float, int, str | None, str | None]] = []  # (sent at, status, version, request id)
    lock = threading.Lock()
    swapped_at: list[float] = []

    def load() -> None:
        got = []
        with httpx.Client(timeout=30) as client:
            for _ in range(CALLS_PER_THREAD):
                sent = time.monotonic()
                try:
                    resp = client.post(f"{url}/api/predict?reasons=false", json=VALID)
                    body = resp.json() if resp.status_code == 200 else {}
                    got.append((sent, resp.status_code, body.get("model_version"), body.get("request_id")))
                except httpx.HTTPError as exc:
                    got.append((sent, 0, repr(exc), None))
        with lock:
            answers.extend(got)

    with launched(["app_gradio.py"], f"{url}/health", env=env, log_file=tmp_path / "server.out"):
        threads = [threading.Thread(target=load) for _ in range(THREADS)]
        for t in threads:
            t.start()
        time.sleep(0.5)  # under load when the promotion runs
        assert promote.main([str(candidate), "--model-dir", str(serving), "--lifecycle-dir", str(tmp_path / "lc"),
                             "--holdout", str(holdout), "--no-registry", "--bootstrap", "100", "--force",
                             "--reason", "swap under load"]) == 0
        _wait(lambda: _health(url)["model_version"] == new)
        swapped_at.append(time.monotonic())
        for t in threads:
            t.join()
        info = httpx.get(f"{url}/model/info", timeout=10).json()
        health = _health(url)
        after = [httpx.post(f"{url}/api/predict", json=VALID, timeout=10).json() for _ in range(20)]

        # a tampered copy of the old model swapped into the serving folder is refused; the new one keeps serving
        tampered = tmp_path / "serving" / "tampered"
        shutil.copytree(model_dir, tampered)
        data = bytearray((tampered / MODEL_FILE).read_bytes())
        data[len(data) // 2] ^= 0x01
        (tampered / MODEL_FILE).write_bytes(bytes(data))
        assert exchange(tampered, serving)
        _wait(lambda: _health(url)["swap"]["refused"] is not None)
        refused = _health(url)
        still = httpx.post(f"{url}/api/predict", json=VALID, timeout=10)

    assert len(answers) == THREADS * CALLS_PER_THREAD
    assert [a for a in answers if a[1] != 200] == []  # zero failed calls
    versions = {a[2] for a in answers}
    assert versions == {old, new}
    assert sum(a[0] > swapped_at[0] for a in answers) > 100  # the load went on after the swap
    assert all(a[2] == new for a in answers if a[0] > swapped_at[0])  # after the swap only the new version
    assert info["model_version"] == new and health["model_version"] == new
    assert health["swap"]["last_swap"]["from"] == old and health["swap"]["last_swap"]["to"] == new
    assert {a["model_version"] for a in after} == {new}
    assert refused["model_version"] == new and "checksum" in refused["swap"]["refused"]["reason"]
    assert still.status_code == 200 and still.json()["model_version"] == new
    assert "model swap refused" in (tmp_path / "server.out").read_text()

    lines = [json.loads(x) for x in log.read_text().splitlines()]
    by_id = {}
    for record in lines:
        assert record["request_id"] not in by_id  # exactly one line per answer
        by_id[record["request_id"]] = record
    assert len(lines) == len(answers) + len(after) + 1
    for _, _, version, request_id in answers:
        assert by_id[request_id]["model_version"] == version  # the line names the version that answered
