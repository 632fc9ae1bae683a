"""Launching the app (or any server) as a real process on a free loopback port, for benchmarks and tests.

`benchmarks/` import nothing from `tests/`; the tests import these from here (`tests/helpers.py`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until `url` answers 200, failing early if `proc` died."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last = exc
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s (last error: {last})")


@contextmanager
def launched(args: list[str], url: str, env: dict[str, str] | None = None, cwd: Path | None = None,
             log_file: Path | None = None, timeout: float = 90.0) -> Iterator[subprocess.Popen]:
    """Start `python *args` as a real process, wait for `url`, stop it afterwards."""
    full_env = os.environ | {"GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"} | (env or {})
    out = open(log_file, "wb") if log_file else subprocess.DEVNULL  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen([sys.executable, *args], cwd=cwd or PROJECT_ROOT, env=full_env,
                            stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_http(url, timeout=timeout, proc=proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log_file:
            out.close()
