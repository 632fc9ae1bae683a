"""`api.server_protocol.HeadWithBody`: a response's head leaves with its body in one write, and nothing on the
wire changes: order, bytes, keep-alive, HEAD, 204, streamed answers, "100 Continue", a client that left."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from api.server_protocol import HeadWithBody, protocol_class
from tests.helpers import free_port

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(bytes(data))

    def writelines(self, data: list[bytes]) -> None:
        self.writes.append(b"".join(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def _run(coroutine: Any) -> Any:
    """`asyncio.run` in a thread of its own (a test before may have left a loop running in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_the_head_leaves_with_the_body_or_alone_at_the_end_of_the_pass() -> None:
    async def run() -> list[list[bytes]]:
        loop = asyncio.get_running_loop()
        seen = []

        def fresh() -> tuple[HeadWithBody, Recorder]:
            recorder = Recorder()
            return HeadWithBody(recorder, loop), recorder

        t, rec = fresh()  # head then body: one write
        t.write(HEAD)
        t.write(b"{}")
        await asyncio.sleep(0)
        seen.append(rec.writes)
        t, rec = fresh()  # a head alone (HEAD, 204, a streamed answer's first chunk later): sent in this pass
        t.write(HEAD)
        assert rec.writes == []
        await asyncio.sleep(0)
        seen.append(list(rec.writes))
        t.write(b"later")
        seen.append(rec.writes)
        t, rec = fresh()  # 100 Continue at once; a body-like write is not held
        t.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        t.write(b"plain body")
        seen.append(rec.writes)
        t, rec = fresh()  # close and writelines send the held head first; abort drops it
        t.write(HEAD)
        t.close()
        seen.append(rec.writes + [b"closed" if rec.closed else b"open"])
        t, rec = fresh()
        t.write(HEAD)
        t.writelines([b"a", b"b"])
        seen.append(rec.writes)
        t, rec = fresh()
        t.write(HEAD)
        t.abort()
        await asyncio.sleep(0)
        seen.append(rec.writes)
        assert t.get_extra_info("peername") == "info:peername"
        return seen

    seen = _run(run())
    assert seen == [[HEAD + b"{}"], [HEAD], [HEAD, b"later"],
                    [b"HTTP/1.1 100 Continue\r\n\r\n", b"plain body"], [HEAD, b"closed"], [HEAD, b"ab"], []]


async def _json(request: Request) -> Response:
    return JSONResponse({"body": (await request.body()).decode()})


async def _empty(request: Request) -> Response:
    return Response(status_code=204)


async def _stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"one", b"two"):
            await asyncio.sleep(0.05)
            yield part
    return StreamingResponse(chunks(), media_type="text/plain")


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    app = Starlette(routes=[Route("/json", _json, methods=["GET", "POST", "HEAD"]), Route("/empty", _empty),
                            Route("/stream", _stream)])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http=protocol_class(),
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(10)


def _exchange(port: int, payload: bytes, until: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        data = b""
        while not data.endswith(until):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def test_pipelined_keep_alive_answers_come_whole_and_in_order(port: int) -> None:
    requests = (b"POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                b"HEAD /json HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /empty HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = _exchange(port, requests, b'{"body":""}')
    answers = data.split(b"HTTP/1.1 ")[1:]
    assert [a.split(b"\r\n", 1)[0] for a in answers] == [b"200 OK", b"200 OK", b"204 No Content", b"200 OK"]
    assert answers[0].endswith(b'\r\n\r\n{"body":"abc"}') and answers[1].endswith(b"\r\n\r\n")
    assert b"connection: close" in answers[3]


def test_a_streamed_answer_and_100_continue(port: int) -> None:
    data = _exchange(port, b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", b"0\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 OK") and b"3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n" in data
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"  # before the body is sent
        sock.sendall(b"hi")
        answer = b""
        while not answer.endswith(b'{"body":"hi"}'):
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 OK")
