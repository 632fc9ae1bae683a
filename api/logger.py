"""Prediction log: one `LogRecord` JSON line per call, appended to `LOG_PATH`.

Design (see docs/decisions.md):
- `log_prediction` (the seed's name) is the one function callers use (`api.scoring_service` logs
  every call and refusal through it). The request thread only appends a small tuple to a bounded
  deque (about a microsecond, takes no lock and wakes no thread); a background writer thread wakes
  every `interval` seconds, measures CPU and RAM once per batch, turns the records into JSON lines and
  appends them. Waking the writer per record (queue.Queue) made it take the GIL each time the
  request thread released it (every ctypes call into XGBoost): measured 2-3x slower requests.
- Appends are safe across threads and processes: the file is opened with O_APPEND and every batch
  is written with one `os.write` while holding an exclusive `flock` on `<log>.lock`, so lines are
  whole and never interleaved, whichever process writes.
- Size-based rotation under the same lock: `predictions.log` → `.1` → `.2` ... (`.1` is the most
  recent, like `logging.handlers.RotatingFileHandler`); a process that finds the file rotated by
  another reopens it.
- A batch is written whole or not at all, line by line: when the disk fills mid-write, the file is
  truncated back to the last whole line written, so no cut line is ever left for the next record to be
  glued to. `written` counts the records on disk, `failures` the ones lost, exactly.
- A failure (unwritable folder, full disk, full queue) never reaches the caller: it is counted,
  reported once through `logging` (logger `api.logger`) and exposed by `stats()` (shown by /health).
  `stats()["status"]` is "failing" only while writes fail: the next whole write (or a probe of the
  folder when idle) brings it back to "ok". `check_writable()` runs at start, so an unusable `LOG_PATH` is said at once.
- `kill -9` loses what is queued: at most `interval` seconds of calls (50 ms). `LOG_SYNC=1` writes
  each call before it is answered (and `LOG_SYNC=fsync` also fsyncs it); see benchmarks/bench_log.py.
- Bounded on disk: size rotation (`max_bytes` x `backups`), a daily rotation, rotated files older than
  `LOG_MAX_AGE_DAYS` deleted, and the oldest rotated files deleted past `LOG_MAX_TOTAL_MB`.
- `close()` (FastAPI shutdown, `atexit`) drains the queue so that no accepted line is lost at exit.
"""

from __future__ import annotations

import math
import os
import threading
from typing import Any

from api.log_writer import (
    DEFAULT_BACKUPS,
    DEFAULT_INTERVAL,
    DEFAULT_MAX_BYTES,
    DEFAULT_QUEUE_SIZE,
    PredictionLogger,
)
from scoring import config
from scoring.schema import STATUS_ERROR, STATUS_OK

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


_IDS: list[str] = []  # ids drawn ahead from one os.urandom call (list.pop: atomic, thread-safe)
_IDS_LOCK = threading.Lock()
os.register_at_fork(after_in_child=_IDS.clear)  # a child process never reuses its parent's ids


def new_request_id() -> str:
    """Unique, unguessable id of a call: 128 random bits as 32 hex characters (a reference that lets its
    holder read a letter or record a decision must not be found by counting from a seen one). The bits
    are the kernel's (`os.urandom`), read 4 KB (256 ids) at a time: a read per call released the GIL to the
    log writer on every call (3.7 % of the served app's samples, `benchmarks/bench_http_layers.py`)."""
    while True:
        try:
            return _IDS.pop()
        except IndexError:
            with _IDS_LOCK:
                if not _IDS:
                    bits = os.urandom(4096).hex()
                    _IDS.extend([bits[i:i + 32] for i in range(0, len(bits), 32)])


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
                   client: str | None = None, source: str | None = None, applicant_id: int | None = None,
                   extra: dict[str, Any] | None = None, logger: PredictionLogger | None = None) -> None:
    """Log one call (never raises, never blocks); `status="error"` with `error` for a refused call.

    The one entry point of the log: the service passes its own `logger`; without one, the process's
    logger on `LOG_PATH` (`get_logger`)."""
    (logger or get_logger()).log(request_id=request_id, input=input, prediction=prediction, duration=duration,
                                 model_version=model_version, status=status, error=error, client=client,
                                 source=source, applicant_id=applicant_id, extra=extra)


__all__ = ["DEFAULT_BACKUPS", "DEFAULT_INTERVAL", "DEFAULT_MAX_BYTES", "DEFAULT_QUEUE_SIZE", "PredictionLogger",
           "log_prediction", "get_logger", "safe_input", "new_request_id", "STATUS_ERROR", "STATUS_OK"]
