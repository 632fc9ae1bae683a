"""The form survives a flood (issue 19, item 1): eight anonymous threads post valid
`/gradio_api/call/predict` bodies for seconds without ever reading the results; then an adviser's
evaluation through the form still answers, and /health tells the queue's state."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scoring.config import MODELS_DIR
from tests.helpers import free_port, launched

FORM = [0.45, 0.6, 0.55, "Supérieur", 2.0, True, "Homme", True, 0.0, ""]  # the 11 features as the form sends them
FLOOD_SECONDS, FLOOD_THREADS = 10.0, 8


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    logs = tmp_path_factory.mktemp("flood")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"MODEL_DIR": str(MODELS_DIR), "LOG_PATH": str(logs / "predictions.log"), "HOST": "127.0.0.1",
           "PORT": str(port), "HF_HUB_OFFLINE": "1", "FEATURE_STORE": str(logs / "absent.sqlite"),
           "API_TOKENS": "", "FORM_USERS": ""}
    with launched(["app_gradio.py"], f"{url}/health", env=env, log_file=logs / "server.out"):
        yield url, logs


def evaluate(url: str, timeout: float = 30.0) -> list:
    """One evaluation through the form's event, read to the end as gradio_client does."""
    posted = httpx.post(f"{url}/gradio_api/call/predict", json={"data": FORM}, timeout=timeout)
    assert posted.status_code == 200, posted.text[:300]
    event_id = posted.json()["event_id"]
    with httpx.stream("GET", f"{url}/gradio_api/call/predict/{event_id}", timeout=timeout) as stream:
        kind = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                assert kind == "complete", line[:300]
                return json.loads(line[5:])
    raise AssertionError("the event stream ended without a result")


def flood(url: str, seconds: float, threads: int, *, spread: bool = False) -> Counter:
    """`threads` clients posting valid events as fast as they can, never reading a result; `spread`:
    each from its own loopback address (127.0.0.10, .11, ...), as distinct clients."""
    statuses: Counter = Counter()
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def hammer(i: int) -> None:
        transport = httpx.HTTPTransport(local_address=f"127.0.0.{10 + i}") if spread else None
        with httpx.Client(timeout=10, transport=transport) as client:
            while time.monotonic() < stop:
                try:
                    code = client.post(f"{url}/gradio_api/call/predict", json={"data": FORM}).status_code
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                with lock:
                    statuses[code] += 1

    workers = [threading.Thread(target=hammer, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return statuses


@pytest.mark.slow
def test_the_form_still_evaluates_after_a_flood_of_unread_events(served: tuple[str, Path]) -> None:
    url, logs = served
    before = evaluate(url)
    one_client = flood(url, FLOOD_SECONDS, FLOOD_THREADS)
    assert one_client[429] > 0 and set(one_client) <= {200, 429}, one_client  # one client is bounded
    many_clients = flood(url, FLOOD_SECONDS, FLOOD_THREADS, spread=True)
    assert set(many_clients) <= {200, 429, 503}, many_clients  # 503: the queue is full (bounded overall)
    health = httpx.get(f"{url}/health", timeout=10).json()
    assert health["queue"]["status"] == "ok" and health["queue"]["waiting"] <= health["queue"]["max_size"], health
    after = evaluate(url)
    assert after[0] == before[0] and after[1] == before[1]  # same score, same decision
    print(f"one client: {dict(one_client)}; eight clients: {dict(many_clients)}; queue {health['queue']}")
    server = (logs / "server.out").read_text(errors="replace")
    assert "Traceback" not in server and "KeyError" not in server, server[-2000:]


def test_a_message_for_an_abandoned_session_is_dropped_not_raised() -> None:
    import gradio as gr

    from api.form_queue import QueueGuard

    with gr.Blocks() as demo:
        gr.Button("x").click(lambda: None)
    guard = QueueGuard(demo, max_size=8).install()
    event = type("E", (), {"alive": True, "_id": "e1", "session_hash": "gone"})()
    message = type("M", (), {"event_id": None})()
    guard.queue.send_message(event, message)  # Gradio's own raised KeyError and its task stopped
    assert event.alive is False and guard.health()["abandoned_dropped"] == 1
    assert guard.queue.max_size == 8


def test_a_stopped_queue_makes_health_degraded_then_is_revived(dossier_service, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    from api.app import build_app

    monkeypatch.delenv("API_TOKENS", raising=False)
    monkeypatch.delenv("FORM_USERS", raising=False)
    with TestClient(build_app(dossier_service)) as client:
        posted = client.post("/gradio_api/call/predict", json={"data": FORM})  # the queue knows its server
        assert posted.status_code == 200
        inner = client.app  # the FastAPI app, under the ASGI layers (proxy headers, gate, Gradio's audit)
        while not hasattr(inner, "routes"):
            inner = inner.app
        queue = inner.routes[-1].app.get_blocks()._queue
        queue.stopped = True  # what the KeyError did
        health = client.get("/health").json()
        assert health["status"] == "degraded" and health["queue"]["status"] == "degraded"
        deadline = time.monotonic() + 10
        while client.get("/health").json()["queue"]["status"] != "ok" and time.monotonic() < deadline:
            time.sleep(0.2)
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["queue"]["revived"] == 1
        assert client.post("/gradio_api/call/predict", json={"data": FORM}).status_code == 200
