"""Prediction log: one `LogRecord` JSON line per call, appended to `LOG_PATH`.

Design (see docs/decisions.md):
- The request thread only appends a small tuple to a bounded deque (`log_prediction` costs about
  a microsecond, takes no lock and wakes no thread); a background writer thread wakes every
  `interval` seconds, measures CPU and RAM once per batch, turns the records into JSON lines and
  appends them. Waking the writer per record (queue.Queue) made it take the GIL each time the
  request thread released it (every ctypes call into XGBoost): measured 2-3x slower requests.
- Appends are safe across threads and processes: the file is opened with O_APPEND and every batch
  is written with one `os.write` while holding an exclusive `flock` on `<log>.lock`, so lines are
  whole and never interleaved, whichever process writes.
- Size-based rotation under the same lock: `predictions.log` → `.1` → `.2` ... (`.1` is the most
  recent, like `logging.handlers.RotatingFileHandler`); a process that finds the file rotated by
  another reopens it.
- A failure (unwritable folder, full disk, full queue) never reaches the caller: it is counted,
  reported once on stderr and exposed by `stats()` (shown by /health).
- `close()` (FastAPI shutdown, `atexit`) drains the queue so that no accepted line is lost at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import itertools
import math
import os
import sys
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from scoring import config
from scoring.schema import STATUS_ERROR, STATUS_OK, LogRecord

DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # rotate past 50 MB: a day of busy traffic, still quick to read
DEFAULT_BACKUPS = 10
DEFAULT_QUEUE_SIZE = 100_000  # records waiting for the writer; past this they are dropped and counted
DEFAULT_INTERVAL = 0.05  # seconds between the writer's passes: lines reach the file within ~50 ms
CPU_WINDOW = 0.5  # seconds over which cpu_percent is measured
MAX_INPUT_KEYS = 400  # a rejected body can be anything: keep what is logged of it bounded


def _json_safe(value: Any) -> Any:
    """What a rejected caller sent, made loggable (NaN/inf and odd types as text)."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    return repr(value)[:200]


def safe_input(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    return {str(k)[:200]: _json_safe(v) for k, v in list(data.items())[:MAX_INPUT_KEYS]}


_ID_PREFIX = uuid.uuid4().hex[:16]  # random per process
_ID_COUNTER = itertools.count(1)  # next() is atomic under the GIL


def new_request_id() -> str:
    """Unique id of a call: a random per-process prefix and a counter (32 hex characters).

    Cheaper than uuid4 per call, whose os.urandom releases the GIL on the request path.
    """
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


class PredictionLogger:
    """Background, multi-process-safe JSON-lines writer with size-based rotation."""

    def __init__(self, path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS,
                 queue_size: int = DEFAULT_QUEUE_SIZE, interval: float = DEFAULT_INTERVAL):
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.max_bytes = max_bytes
        self.backups = backups
        self.queue_size = queue_size
        self.interval = interval
        self._pending: deque[tuple] = deque()
        self._busy = False
        self._stop = threading.Event()
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # first call primes the measurement
        self._cpu, self._cpu_at = 0.0, time.monotonic()
        self.failures = 0
        self.dropped = 0
        self.written = 0
        self.last_error: str | None = None
        self._reported = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="prediction-log-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # --- request side -------------------------------------------------------------------------

    def log(self, *, request_id: str, input: dict[str, Any], prediction: dict[str, Any] | None,
            duration: float, model_version: str | None, status: str = STATUS_OK,
            error: str | None = None, client: str | None = None) -> None:
        """Queue one record; never raises, never blocks."""
        try:
            if len(self._pending) >= self.queue_size:
                self.dropped += 1
                self._fail("log queue full: the writer cannot keep up (record dropped)")
                return
            self._pending.append((time.time(), request_id, input, prediction, duration, model_version, status,
                                  error, client))
        except Exception as exc:  # noqa: BLE001 - logging must never break a prediction
            self._fail(f"cannot queue a log record: {exc}")

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record queued so far has been handled (written or counted as failed)."""
        deadline = time.monotonic() + timeout
        while (self._pending or self._busy) and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.002)
        return not (self._pending or self._busy)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, stop the writer, close the file."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._thread.join(timeout)
        for fd in (self._fd, self._lock_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fd = self._lock_fd = None

    def stats(self) -> dict[str, Any]:
        return {"path": str(self.path), "written": self.written, "failures": self.failures,
                "dropped": self.dropped, "queued": len(self._pending), "last_error": self.last_error}

    # --- writer side --------------------------------------------------------------------------

    def _fail(self, message: str, n: int = 1) -> None:
        self.failures += n
        self.last_error = message
        if not self._reported:
            self._reported = True
            print(f"[prediction log] {message} — predictions go on; further failures are only counted "
                  f"(see /health)", file=sys.stderr, flush=True)

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self.interval)
            self._busy = True
            try:
                while self._pending:
                    records = []
                    with contextlib.suppress(IndexError):
                        while len(records) < 5000:
                            records.append(self._pending.popleft())
                    try:
                        self._write(records)
                    except Exception as exc:  # noqa: BLE001 - counted, never raised
                        self._fail(f"cannot write {self.path}: {exc}", n=len(records))
            finally:
                self._busy = False
            if stopping:
                return

    def _lines(self, records: list[tuple]) -> bytes:
        now = time.monotonic()
        # Process CPU times tick every 10 ms: over a 50 ms batch the ratio jumps to 400 %. One
        # reading per CPU_WINDOW seconds (reused by the batches in between) keeps it meaningful.
        if now - self._cpu_at >= CPU_WINDOW:
            self._cpu, self._cpu_at = self._process.cpu_percent(None), now
        cpu = self._cpu
        mem = self._process.memory_info().rss / (1024 * 1024)
        lines = []
        for ts, request_id, inp, prediction, duration, version, status, error, client in records:
            record = LogRecord(
                timestamp=datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds"),
                request_id=request_id, input=inp, prediction=prediction, duration=round(duration, 6),
                cpu_percent=cpu, memory_usage_MB=round(mem, 1), model_version=version, status=status, error=error,
                client=client,
            )
            try:
                lines.append(record.to_json())
            except (TypeError, ValueError) as exc:
                self._fail(f"record {request_id} cannot be written as JSON: {exc}")
        return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._lock_fd is None:
            self._lock_fd = os.open(self.lock_path, os.O_WRONLY | os.O_CREAT, 0o644)
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _write(self, records: list[tuple]) -> None:
        data = self._lines(records)
        if not data:
            return
        if self._lock_fd is None or self._fd is None:
            self._open()
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            self._reopen_if_rotated()
            if os.fstat(self._fd).st_size > 0 and os.fstat(self._fd).st_size + len(data) > self.max_bytes:
                self._rotate()
            view = memoryview(data)
            while view:  # a regular file takes the whole buffer unless the disk is full
                n = os.write(self._fd, view)
                if n == 0:
                    raise OSError(errno.ENOSPC, "no space left on device")
                view = view[n:]
            self.written += len(records)
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _reopen_if_rotated(self) -> None:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            self._open()
            return
        mine = os.fstat(self._fd)
        if (on_disk.st_ino, on_disk.st_dev) != (mine.st_ino, mine.st_dev):
            self._open()

    def _rotate(self) -> None:
        for i in range(self.backups - 1, 0, -1):
            src = self.path.with_name(f"{self.path.name}.{i}")
            if src.exists():
                os.replace(src, self.path.with_name(f"{self.path.name}.{i + 1}"))
        if self.backups > 0:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            os.truncate(self.path, 0)
        self._open()


_default: PredictionLogger | None = None
_default_lock = threading.Lock()


def get_logger() -> PredictionLogger:
    """The process's logger on `config.log_path()` (created on first use)."""
    global _default
    with _default_lock:
        if _default is None or _default._closed:
            _default = PredictionLogger(config.log_path())
        return _default


def log_prediction(*, request_id: str, input: dict[str, Any], prediction: dict[str, Any] | None,
                   duration: float, model_version: str | None, status: str = STATUS_OK, error: str | None = None,
                   logger: PredictionLogger | None = None) -> None:
    """Log one call (never raises, never blocks); `status="error"` with `error` for a refused call."""
    (logger or get_logger()).log(request_id=request_id, input=input, prediction=prediction, duration=duration,
                                 model_version=model_version, status=status, error=error)


__all__ = ["PredictionLogger", "log_prediction", "get_logger", "safe_input", "new_request_id", "STATUS_ERROR",
           "STATUS_OK"]
