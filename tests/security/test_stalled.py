"""Stalled connections are closed (issue 19, item 6): sockets that send nothing, part of their headers
or part of their body are closed after the read timeout, /health keeps answering, and releasing them
prints no traceback."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scoring.config import MODELS_DIR
from tests.helpers import free_port, launched

READ_TIMEOUT = 2.0
PER_KIND = 150


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    logs = tmp_path_factory.mktemp("stalled")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"MODEL_DIR": str(MODELS_DIR), "LOG_PATH": str(logs / "predictions.log"), "HOST": "127.0.0.1",
           "PORT": str(port), "HF_HUB_OFFLINE": "1", "FEATURE_STORE": str(logs / "absent.sqlite"),
           "REQUEST_READ_TIMEOUT": str(READ_TIMEOUT), "API_TOKENS": "", "FORM_USERS": ""}
    with launched(["app_gradio.py"], f"{url}/health", env=env, log_file=logs / "server.out"):
        yield url, port, logs


def _open(port: int, payload: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if payload:
        sock.sendall(payload)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(0.5)
    try:
        while sock.recv(65536):  # an answer, if any, then the end of the stream
            pass
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


@pytest.mark.slow
def test_stalled_sockets_are_closed_and_the_server_keeps_answering(served: tuple[str, int, Path]) -> None:
    url, port, logs = served
    kinds = {
        "nothing": b"",
        "part of the headers": b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Ty",
        "part of the body": b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 500\r\n\r\n{\"EXT_SOURCE_1\": 0.",
        "part of a form call": b"POST /gradio_api/call/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                               b"\r\nContent-Length: 300\r\n\r\n{\"data\": [0.4",
    }
    sockets = {kind: [_open(port, payload) for _ in range(PER_KIND)] for kind, payload in kinds.items()}
    started = time.monotonic()
    assert httpx.get(f"{url}/health", timeout=5).status_code == 200  # answers while they hang
    time.sleep(READ_TIMEOUT + 1.5)
    for kind, group in sockets.items():
        closed = sum(_closed_by_server(s) for s in group)
        assert closed == len(group), f"{kind}: {closed}/{len(group)} closed"
    for group in sockets.values():
        for s in group:
            s.close()
    t0 = time.monotonic()
    assert httpx.get(f"{url}/health", timeout=5).status_code == 200
    assert time.monotonic() - t0 < 1.0 and time.monotonic() - started < 30
    time.sleep(0.5)
    server = (logs / "server.out").read_text(errors="replace")
    assert "Traceback" not in server, server[-3000:]


@pytest.mark.slow
def test_a_slow_but_steady_request_within_the_timeout_is_served(served: tuple[str, int, Path]) -> None:
    _, port, _ = served
    sock = _open(port, b"GET /health HTTP/1.1\r\nHo")
    time.sleep(READ_TIMEOUT / 2)
    sock.sendall(b"st: x\r\n\r\n")
    sock.settimeout(5)
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    sock.close()
