"""The prediction log's writer: `PredictionLogger`, a background, multi-process-safe JSON-lines
appender with rotation and retention (the design: `api.logger`'s docstring and docs/decisions.md)."""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import logging
import math
import os
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from api import log_files
from scoring import config
from scoring.schema import CHALLENGER_FIELDS, STATUS_OK, log_line

DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # rotate past 50 MB: a day of busy traffic, still quick to read
DEFAULT_BACKUPS = 10
DEFAULT_QUEUE_SIZE = 100_000  # records waiting for the writer; past this they are dropped and counted
DEFAULT_INTERVAL = config.DEFAULT_LOG_INTERVAL  # seconds between the writer's passes: lines on disk within ~50 ms
RETENTION_EVERY_S = 60.0  # how often the writer applies the age and total-size bounds
PROBE_EVERY_S = 2.0  # while failing and idle: how often the folder and free space are checked
PROBE_FREE_BYTES = 4096  # free space that lets a probe call the log writable again
CPU_WINDOW = 0.5  # seconds over which cpu_percent is measured

_log = logging.getLogger("api.logger")  # the name operators filter on (docs): the writer reports as the logger


class PredictionLogger:
    """Background, multi-process-safe JSON-lines writer with size-based rotation."""

    def __init__(self, path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS,
                 queue_size: int = DEFAULT_QUEUE_SIZE, interval: float = DEFAULT_INTERVAL, sync: str | None = None,
                 max_age_days: float | None = None, max_total_bytes: int | None = None,
                 replica: str | None = None):
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.max_bytes = max_bytes
        self.backups = backups
        self.queue_size = queue_size
        self.interval = interval
        self.sync = config.log_sync() if sync is None else sync
        if self.sync not in config.LOG_SYNC_MODES:
            raise ValueError(f"sync={self.sync!r}: expected one of {config.LOG_SYNC_MODES}")
        self.max_age_s = 86_400.0 * (config.log_max_age_days() if max_age_days is None else max_age_days)
        total = int(config.log_max_total_mb() * 1e6) if max_total_bytes is None else max_total_bytes
        self.max_total_bytes = max(total, max_bytes)  # the live file alone may reach max_bytes
        self.replica = config.replica_id() if replica is None else replica
        self._pending: deque[tuple] = deque()
        self._busy = False
        self._stop = threading.Event()
        self._write_lock = threading.Lock()  # sync callers and the writer thread, one at a time
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._live_start: tuple[int, float | None] | None = None  # (inode, time of the live file's first record)
        self._retained_at = -math.inf
        self._probed_at = -math.inf
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # first call primes the measurement
        self._cpu, self._cpu_at = 0.0, -math.inf  # the first batch reads both figures
        self._mem = 0.0
        self._cpu_lock = threading.Lock()
        self.failures = 0
        self.dropped = 0
        self.written = 0
        self.last_error: str | None = None
        self.failing_since: float | None = None  # wall time of the first failure of the current failing spell
        self.last_failure_at: float | None = None
        self._reported = False
        self._closed = False
        self._shut = False  # set once closed: a late sync call is counted, never reopens the file
        problem = self.check_writable()
        if problem:
            self._fail(problem, n=0)
        self._thread = threading.Thread(target=self._run, name="prediction-log-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    @property
    def failing(self) -> bool:
        """True while the log cannot be written (since the last failure, until a whole write or a good probe)."""
        return self.failing_since is not None

    def check_writable(self) -> str | None:
        """Why the log cannot be written (its folder is a file, read-only, ...), or None. Creates nothing."""
        path = self.path
        if path.is_dir():
            return f"{path.name} is a folder, not a log file"
        if path.exists():
            return None if os.access(path, os.W_OK) else f"{path.name} is not writable"
        ancestor = path.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            if ancestor.is_symlink():
                return f"{ancestor.name} is a broken link: cannot create {path.name}"
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            return f"{ancestor.name} is a file, not a folder: cannot create {path.name}"
        if not os.access(ancestor, os.W_OK | os.X_OK):
            return f"cannot create {path.name}: folder {ancestor.name} is not writable"
        return None

    # --- request side -------------------------------------------------------------------------

    def log(self, *, request_id: str, input: dict[str, Any], prediction: dict[str, Any] | None,
            duration: float, model_version: str | None, status: str = STATUS_OK,
            error: str | None = None, client: str | None = None, source: str | None = None,
            applicant_id: int | None = None, extra: dict[str, Any] | None = None) -> None:
        """Queue one record (or, with `sync`, write it before returning); never raises.

        `source` / `applicant_id`: where the row came from and the dossier's SK_ID_CURR (LogRecord);
        `extra`: further top-level keys of the line (an adviser's decision: `decision`)."""
        record = record_of(time.time(), request_id, input, prediction, duration, model_version, status, error,
                           client, source, applicant_id, extra)
        try:
            if self.sync != "0":
                self._write_counted([record])
                return
            if len(self._pending) >= self.queue_size:
                self.dropped += 1
                self._fail("log queue full: the writer cannot keep up (record dropped)")
                return
            self._pending.append(record)
        except Exception as exc:  # noqa: BLE001 - logging must never break a prediction
            self._fail(f"cannot queue a log record: {exc}")

    def log_lines(self, lines: list[bytes]) -> None:
        """Queue lines already written out by `format_line` (the shadow's worker writes its calls' lines);
        like `log`: with `sync`, written before returning; never raises."""
        if not lines:
            return
        try:
            if self.sync != "0":
                self._write_counted(lines)
                return
            room = self.queue_size - len(self._pending)
            if room < len(lines):
                self.dropped += len(lines) - max(room, 0)
                self._fail("log queue full: the writer cannot keep up (record dropped)", n=len(lines) - max(room, 0))
                lines = lines[:max(room, 0)]
            self._pending.extend(lines)
        except Exception as exc:  # noqa: BLE001 - logging must never break a prediction
            self._fail(f"cannot queue log lines: {exc}", n=len(lines))

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
        with self._write_lock:
            self._shut = True
            for fd in (self._fd, self._lock_fd):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._fd = self._lock_fd = None

    def stats(self) -> dict[str, Any]:
        """What /health shows: counts, and `status` "failing" while writes fail (no absolute path)."""
        def when(moment: float | None) -> str | None:
            return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")

        return {"status": "failing" if self.failing else "ok", "file": self.path.name, "sync": self.sync,
                "written": self.written, "failures": self.failures, "dropped": self.dropped,
                "queued": len(self._pending), "last_error": self.last_error,
                "failing_since": when(self.failing_since), "last_failure_at": when(self.last_failure_at)}

    # --- writer side --------------------------------------------------------------------------

    def _fail(self, message: str, n: int = 1) -> None:
        self.failures += n
        self.last_error = message
        self.last_failure_at = time.time()
        if self.failing_since is None:
            self.failing_since = self.last_failure_at
        if not self._reported:
            self._reported = True
            _log.warning("[prediction log] %s: %s — predictions go on; further failures are only counted "
                         "(see /health)", self.path, message)

    def _recovered(self) -> None:
        if self.failing_since is not None:
            self.failing_since = None
            _log.warning("[prediction log] %s: writing again", self.path)

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
                    self._write_counted(records)
                if self.failing and not stopping:
                    self._probe()
            finally:
                self._busy = False
            if stopping:
                return

    def _probe(self) -> None:
        """While failing and idle: the log is called writable again when its folder is usable and has room."""
        now = time.monotonic()
        if now - self._probed_at < PROBE_EVERY_S:
            return
        self._probed_at = now
        if self.check_writable() is not None:
            return
        try:
            st = os.statvfs(self.path.parent)
        except OSError:
            return
        if st.f_bavail * st.f_frsize >= PROBE_FREE_BYTES:
            self._recovered()

    def _write_counted(self, records: list[tuple]) -> None:
        try:
            self._write(records)
        except Exception as exc:  # noqa: BLE001 - counted, never raised
            problem = self.check_writable() or f"cannot write {self.path.name}: {_reason(exc)}"
            self._fail(problem, n=len(records))

    def figures(self) -> tuple[float, float]:
        """(cpu_percent, memory_usage_MB) of this process as its lines state them, read once per CPU_WINDOW
        seconds: process CPU times tick every 10 ms (over a 50 ms batch the ratio jumps to 400 %), and a
        reading costs 50-200 µs of the interpreter lock its requests need. The shadow's worker
        (`api.shadow_worker`) writes its calls' lines with these figures: the service's, not its own."""
        now = time.monotonic()
        if now - self._cpu_at >= CPU_WINDOW:
            with self._cpu_lock:  # the writer and the shadow's sender: one reading, not two in a row
                if now - self._cpu_at >= CPU_WINDOW:
                    self._mem = round(self._process.memory_info().rss / (1024 * 1024), 1)
                    self._cpu, self._cpu_at = self._process.cpu_percent(None), now
        return self._cpu, self._mem

    def _lines(self, records: list[tuple]) -> list[bytes]:
        cpu, mem = self.figures()
        lines = []
        for record in records:
            if type(record) is bytes:  # a line already written out (`log_lines`)
                lines.append(record)
                continue
            try:
                lines.append(format_line(record, cpu, mem, self.replica))
            except (TypeError, ValueError) as exc:
                self._fail(f"record {record[1]} cannot be written as JSON: {exc}")
        return lines

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._lock_fd is None:
            self._lock_fd = os.open(self.lock_path, os.O_WRONLY | os.O_CREAT, 0o644)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _write(self, records: list[tuple]) -> None:
        lines = self._lines(records)
        if not lines:
            return
        data = b"".join(lines)
        with self._write_lock:
            if self._shut:
                raise OSError(errno.EBADF, "the log is closed")
            if self._lock_fd is None or self._fd is None:
                self._open()
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                self._reopen_if_rotated()
                size = os.fstat(self._fd).st_size
                if size > 0 and (size + len(data) > self.max_bytes or self._live_too_old()):
                    self._rotate()
                    size = 0
                if time.monotonic() - self._retained_at >= RETENTION_EVERY_S:
                    self._retain()
                kept = self._append(data, size)
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        if kept < len(data):
            on_disk = data.count(b"\n", 0, kept)
            self.written += on_disk
            self._fail(f"cannot write {self.path.name}: no space left on device", n=len(lines) - on_disk)
            return
        self.written += len(lines)
        self._recovered()

    def _append(self, data: bytes, size: int) -> int:
        """Append `data`; on a full disk keep only the whole lines written (truncate the rest). Bytes kept."""
        view, done = memoryview(data), 0
        try:
            while done < len(data):  # a regular file takes the whole buffer unless the disk is full
                n = os.write(self._fd, view[done:])
                if n == 0:
                    raise OSError(errno.ENOSPC, "no space left on device")
                done += n
            if self.sync == "fsync":
                os.fsync(self._fd)
            return done
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, size)
                raise
            kept = data.rfind(b"\n", 0, done) + 1
            os.ftruncate(self._fd, size + kept)  # a cut line would swallow the next record
            return kept

    def _reopen_if_rotated(self) -> None:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            self._open()
            return
        mine = os.fstat(self._fd)
        if (on_disk.st_ino, on_disk.st_dev) != (mine.st_ino, mine.st_dev):
            self._open()

    def _live_too_old(self) -> bool:
        """True when the live file's first record is older than ROTATE_EVERY_S (read once per file)."""
        inode = os.fstat(self._fd).st_ino
        if self._live_start is None or self._live_start[0] != inode:
            self._live_start = (inode, log_files.first_record_time(self.path))
        started = self._live_start[1]
        return started is not None and time.time() - started > log_files.ROTATE_EVERY_S

    def _rotate(self) -> None:
        log_files.rotate(self.path, self.backups)
        self._open()
        self._retain()

    def _retain(self) -> None:
        self._retained_at = time.monotonic()
        with contextlib.suppress(OSError):
            log_files.retain(self.path, os.fstat(self._fd).st_size, self.max_age_s, self.max_total_bytes)


_second: tuple[int, str] = (0, "")  # the last whole second written, as "YYYY-MM-DDTHH:MM:SS."


def utc_iso(ts: float) -> str:
    """`datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")` (the log's timestamp), the same
    string at a fifth of the cost: the date and time of a second are formatted once for all its records,
    the microseconds rounded as `fromtimestamp` rounds them (half to even, carried into the second)."""
    global _second
    frac, whole = math.modf(ts)
    micro = round(frac * 1e6)
    if micro >= 1_000_000:
        whole, micro = whole + 1, micro - 1_000_000
    elif micro < 0:  # before 1970
        whole, micro = whole - 1, micro + 1_000_000
    second, prefix = _second
    if second != whole or not prefix:
        second = int(whole)
        prefix = datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds")[:-6] + "."
        _second = (second, prefix)
    return f"{prefix}{micro:06d}+00:00"


def record_of(ts: float, request_id: str, input: dict[str, Any], prediction: dict[str, Any] | None,
              duration: float, model_version: str | None, status: str = STATUS_OK, error: str | None = None,
              client: str | None = None, source: str | None = None, applicant_id: int | None = None,
              extra: dict[str, Any] | None = None) -> tuple:
    """The record `PredictionLogger.log` queues (the same order), for a call stamped `ts`."""
    return (ts, request_id, input, prediction, duration, model_version, status, error, client, source, applicant_id,
            extra)


def format_line(record: tuple, cpu: float, mem: float, replica: str | None) -> bytes:
    """A queued record's JSON line with the process figures of the service that answered the call (the
    writer's and the shadow worker's one formatter). Raises TypeError / ValueError when it is not JSON."""
    ts, request_id, inp, prediction, duration, version, status, error, client, source, applicant, extra = record
    tail: tuple[Any, ...] = (error, client, replica, source, applicant)
    if extra and not extra.keys().isdisjoint(CHALLENGER_FIELDS):  # the shadow's fields: in the record's order
        tail += tuple(extra.pop(k, None) for k in CHALLENGER_FIELDS)
    return log_line((utc_iso(ts), request_id, inp, prediction, round(duration, 6), cpu, mem, version, status),
                    tail, extra)


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
