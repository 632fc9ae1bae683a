"""Shadow scoring: the calls the champion answered are scored again by the challenger, in a process of its own.

The champion's answer is sent first and never waits for the challenger: the call (its log record, stamped
with the call's time) is handed to this shadow instead of the logger (a deque append on the request's
thread). A sender thread, every POLL_SECONDS, sends the calls waiting to the challenger's process
(`api.shadow_worker`) in messages of at most MAX_BATCH calls with the service's own figures for its lines
(CPU, memory, replica: `PredictionLogger.figures`), waits for the answer (the interpreter lock is free
meanwhile), and queues the lines it gets back, already written out with the challenger's fields
(`scoring.schema.CHALLENGER_FIELDS`), in one hand-over (`PredictionLogger.log_lines`). Why a process: a
worker thread scoring in the service held the interpreter lock against the champion's requests and raised
its p99 by 11-78 % under load; the process does the challenger's work (rows, scores, and the lines' JSON)
on another core, and in the service there remains one pickle per call and one hand-over per message
(docs/decisions.md). The process runs at a lower priority (nice `WORKER_NICE`): on a saturated machine the
champion gets the CPU first, and the shadow drops calls instead.

A call is logged exactly once either way. Every line of a shadowed service names the challenger's version;
a call it did not score says why under `challenger_skipped`:
- `sampled_out`: outside the shadowed share (`SHADOW_SHARE`, e.g. 0.25: one call in four is shadowed);
- `queue_full`: `max_pending` calls were already waiting (dropped at once, counted: `dropped`);
- `worker_down`: its process died or stopped answering (restarted after RESTART_SECONDS; `/health` says
  `degraded` meanwhile, the champion answers as ever).
A challenger that fails on a call says so under `challenger_error`. The challenger sees the features it knows
(a model without the gender columns ignores them). The service writes every line itself: a worker that dies
with a batch in flight has written nothing, and the service logs that batch (`worker_down`) once; a line the
worker cannot write as JSON comes back as its fields, and the service's logger fails on it and counts it.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from api.logger import PredictionLogger, log_prediction
from scoring.schema import (
    CHALLENGER_ERROR_KEY,
    CHALLENGER_SKIPPED_KEY,
    CHALLENGER_VERSION_KEY,
    SKIPPED_QUEUE_FULL,
    SKIPPED_SAMPLED_OUT,
    SKIPPED_WORKER_DOWN,
)
from serving.predictor import Predictor

log = logging.getLogger(__name__)

DEFAULT_MAX_PENDING = 10_000  # calls waiting for the challenger; beyond, logged at once without it
POLL_SECONDS = 0.1  # the sender looks this often: no wake-up per call on the champion's path, and a round trip
# to the worker costs ~300 µs of CPU whatever its size (a 2-core VM: waking a thread and the other process)
MAX_BATCH = 256  # calls in one message: pickling a message holds the interpreter lock (~3 µs a call)
START_TIMEOUT = 120.0  # seconds for a new worker's first answer (imports, loading the model)
REPLY_TIMEOUT = 30.0  # seconds for a later answer; past it the worker is taken as down
RESTART_SECONDS = 5.0  # a dead worker is started again this long after (calls meanwhile: worker_down)
WORKER_NICE = 10  # the worker's lower priority: the champion's process and the load it serves come first
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _by_challenger(batch: list[tuple]) -> list[tuple[Predictor, list[tuple]]]:
    """The batch's calls in runs of one challenger (a swap mid-batch makes two), in their order."""
    runs: list[tuple[Predictor, list[tuple]]] = []
    for challenger, call in batch:
        if not runs or runs[-1][0] is not challenger:
            runs.append((challenger, []))
        runs[-1][1].append(call)
    return runs


class WorkerDown(RuntimeError):
    """The challenger's process is not there to answer (the message says why)."""


def _identity(challenger: Predictor) -> tuple[str, str, dict[str, str]]:
    """What the worker must load and check: the folder, the version and the checksums verified here."""
    artifacts = challenger.artifacts
    return str(Path(artifacts.directory).resolve()), challenger.model_version, dict(artifacts.manifest.get("files", {}))


class Worker:
    """One `python -m api.shadow_worker` process and its end of the socket pair."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (str(PROJECT_ROOT),
                                                                        os.environ.get("PYTHONPATH")))),
                   OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1", SHADOW_WORKER_NICE=str(WORKER_NICE))
        try:
            self.process = subprocess.Popen([sys.executable, "-m", "api.shadow_worker", str(theirs.fileno())],
                                            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env)
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.answered = False

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, message: tuple) -> tuple:
        """Send one batch and wait for its answer; raises WorkerDown (the worker is then stopped)."""
        try:
            self.conn.send(message)
            if not self.conn.poll(REPLY_TIMEOUT if self.answered else START_TIMEOUT):
                raise TimeoutError("no answer in time")
            answer = self.conn.recv()
        except (OSError, EOFError, TimeoutError) as exc:
            code = self.process.poll()
            self.stop()
            why = f"exited with code {code}" if code is not None else f"{type(exc).__name__}: {exc}"
            raise WorkerDown(f"the challenger's process {self.process.pid} {why}") from exc
        self.answered = True
        return answer

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        with contextlib.suppress(OSError):
            self.conn.close()
        try:
            self.process.wait(2.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(2.0)


class Shadow:
    """The challenger of a service, its process and the sender thread (both started on the first call)."""

    def __init__(self, logger: PredictionLogger, challenger: Predictor | None = None, *,
                 max_pending: int = DEFAULT_MAX_PENDING, share: float = 1.0):
        if not 0 < share <= 1:
            raise ValueError(f"the shadowed share must be in (0, 1], got {share}")
        self.logger = logger
        self.challenger = challenger
        self.max_pending = max_pending
        self.share = share
        self.scored = self.failed = self.dropped = self.sampled_out = self.unscored = 0
        self.restarts = 0
        self.worker: Worker | None = None
        self.worker_reason: str | None = None  # why the worker is down, while it is
        self._retry_at = 0.0
        self._credit = 0.0  # the share's running sum: a call is shadowed each time it passes a whole unit
        self._pending: collections.deque = collections.deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._submitted = self._done = 0  # calls queued / handed to the logger by the sender
        self._stop = False
        self._thread: threading.Thread | None = None
        self._names: dict[tuple[str, ...], tuple[str, ...]] = {}  # one object per name tuple: pickled once a batch
        self._identities: dict[int, tuple[Predictor, tuple]] = {}

    def submit(self, record: dict[str, Any], names: tuple[str, ...], values: Sequence[Any]) -> bool:
        """Log `record` (log_prediction's arguments) once the challenger has scored `values`; False when no
        challenger is set (the caller logs it)."""
        challenger = self.challenger
        if challenger is None or self._stop:
            return False
        skipped = None
        with self._lock:  # the form's calls come from a thread pool
            if self.share < 1:
                self._credit += self.share
                if self._credit < 1:
                    skipped, self.sampled_out = SKIPPED_SAMPLED_OUT, self.sampled_out + 1
                else:
                    self._credit -= 1
            if skipped is None and self.worker_reason is not None and time.monotonic() < self._retry_at:
                skipped, self.unscored = SKIPPED_WORKER_DOWN, self.unscored + 1
            elif skipped is None and len(self._pending) >= self.max_pending:
                skipped, self.dropped = SKIPPED_QUEUE_FULL, self.dropped + 1
            elif skipped is None:
                self._submitted += 1
                self._pending.append((challenger, (time.time(), record, names, values)))
        if skipped is not None:
            self._log(record, {CHALLENGER_VERSION_KEY: challenger.model_version, CHALLENGER_SKIPPED_KEY: skipped})
        elif self._thread is None:
            self._start()
        return True

    def _log(self, record: dict[str, Any], fields: dict[str, Any]) -> None:
        extra = (record.get("extra") or {}) | fields  # the call's own extra fields (out_of_range) kept
        log_prediction(**(record | {"extra": extra}), logger=self.logger)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="shadow-sender", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            while self._pending:
                batch = []
                with contextlib.suppress(IndexError):
                    while len(batch) < MAX_BATCH:
                        batch.append(self._pending.popleft())
                for challenger, calls in _by_challenger(batch):
                    try:
                        self._log_calls(challenger, calls)
                    except Exception as exc:  # noqa: BLE001 - never lose the champion's lines
                        log.error("shadow: %s; the calls are logged without the challenger", exc)
                        for _, record, _, _ in calls:
                            self._log(record, {CHALLENGER_VERSION_KEY: challenger.model_version,
                                               CHALLENGER_ERROR_KEY: f"{type(exc).__name__}: {exc}"[:300]})
                self._done += len(batch)
            if self._stop and not self._pending:
                if self.worker is not None:
                    self.worker.stop()
                return

    def _log_calls(self, challenger: Predictor, calls: list[tuple]) -> None:
        """Score one challenger's calls in the worker and queue their lines. Nothing is handed to the logger
        before the whole answer is there and checked, so a call that raises here was not logged yet."""
        try:
            scored, failed, lines, fallback = self._ask(challenger, calls)
        except WorkerDown as exc:
            self._down(str(exc))
            self.unscored += len(calls)
            for _, record, _, _ in calls:
                self._log(record, {CHALLENGER_VERSION_KEY: challenger.model_version,
                                   CHALLENGER_SKIPPED_KEY: SKIPPED_WORKER_DOWN})
            return
        if len(lines) + len(fallback) != len(calls) or scored + failed != len(calls):
            raise RuntimeError(f"the challenger's process answered {len(lines) + len(fallback)} lines for "
                               f"{len(calls)} calls")
        self.logger.log_lines(lines)  # never raises: from here on, every call is logged once
        for i, fields in fallback:  # a line it could not write as JSON: the logger counts the failure
            self._log(calls[i][1], fields)
        self.scored, self.failed = self.scored + scored, self.failed + failed

    def _ask(self, challenger: Predictor, calls: list[tuple]) -> tuple:
        worker = self.worker
        if worker is None or not worker.alive():
            if worker is not None:
                code = worker.process.poll()
                worker.stop()
                self.worker = None
                self._down(f"the challenger's process {worker.process.pid} exited with code {code}")
            if self.worker_reason is not None and time.monotonic() < self._retry_at:
                raise WorkerDown(self.worker_reason)
            try:
                worker = self.worker = Worker()
            except OSError as exc:
                raise WorkerDown(f"the challenger's process could not start: {exc}") from exc
            if self.worker_reason is not None:
                self.restarts += 1
                log.warning("shadow: challenger's process started again (pid %d)", worker.process.pid)
            self.worker_reason = None
        cached = self._identities.get(id(challenger))
        if cached is None or cached[0] is not challenger:
            self._identities = {id(challenger): (challenger, _identity(challenger))}
            cached = self._identities[id(challenger)]
        names = self._names
        if len(names) > 1024:
            names.clear()
        calls = [(ts, record, names.setdefault(n, n), values) for ts, record, n, values in calls]
        service = (*self.logger.figures(), self.logger.replica)
        try:
            return worker.ask((*cached[1], service, calls))
        except WorkerDown:
            self.worker = None
            raise

    def _down(self, reason: str) -> None:
        if self.worker_reason is None:
            log.error("shadow: %s; calls are logged as not shadowed (%s) until it runs again",
                      reason, SKIPPED_WORKER_DOWN)
        self.worker_reason, self._retry_at = reason, time.monotonic() + RESTART_SECONDS

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every call submitted so far has been handed to the logger."""
        deadline, target = time.monotonic() + timeout, self._submitted
        while self._done < target:
            if time.monotonic() > deadline or self._thread is None or not self._thread.is_alive():
                return False
            self._wake.set()
            time.sleep(0.002)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Log what is queued, then stop the sender and the worker (new calls are then logged without it)."""
        self.drain(timeout)
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        elif self.worker is not None:
            self.worker.stop()

    def status(self) -> tuple[str, str | None]:
        """("off" | "ok" | "degraded", why degraded)."""
        if self.challenger is None:
            return "off", None
        worker = self.worker
        if worker is not None and not worker.alive():
            return "degraded", f"the challenger's process {worker.process.pid} exited with code {worker.process.poll()}"
        if self.worker_reason is not None:
            return "degraded", self.worker_reason
        return "ok", None

    def stats(self) -> dict[str, Any]:
        challenger = self.challenger
        status, reason = self.status()
        worker = self.worker
        return {"on": challenger is not None, "status": status, "reason": reason,
                "challenger_version": challenger.model_version if challenger else None, "share": self.share,
                "scored": self.scored, "pending": len(self._pending), "failed": self.failed,
                "skipped": {SKIPPED_QUEUE_FULL: self.dropped, SKIPPED_SAMPLED_OUT: self.sampled_out,
                            SKIPPED_WORKER_DOWN: self.unscored},
                "worker_pid": worker.process.pid if worker is not None and worker.alive() else None,
                "worker_restarts": self.restarts}

