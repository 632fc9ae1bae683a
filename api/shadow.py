"""Shadow scoring: every call the champion answered is scored again by the challenger, on a worker thread.

The champion's answer is sent first and never waits for the challenger: the call's log line is handed to
this worker instead of the logger (a deque append); the worker, every POLL_SECONDS, scores the calls
waiting with the challenger, in batches, and hands each line, with the challenger's fields
(`scoring.schema.CHALLENGER_FIELDS`), to the logger. A call is logged
exactly once either way. When the worker falls behind by `max_pending` calls, a call is logged at once
with `challenger_skipped: true` rather than queued (the champion is never slowed by a backlog).
The challenger sees the features it knows (a model without the gender columns ignores them).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from api.logger import PredictionLogger, log_prediction
from scoring.schema import (
    CHALLENGER_DECISION_KEY,
    CHALLENGER_DURATION_KEY,
    CHALLENGER_ERROR_KEY,
    CHALLENGER_SCORE_KEY,
    CHALLENGER_SKIPPED_KEY,
    CHALLENGER_VERSION_KEY,
)
from serving.predictor import Predictor

log = logging.getLogger(__name__)

DEFAULT_MAX_PENDING = 10_000  # calls waiting for the challenger; beyond, logged without it
# The worker looks for calls this often and scores what it finds in batches of at most BATCH (one matrix):
# no wake-up per call on the champion's path, and few hand-overs of the interpreter between the threads.
POLL_SECONDS = 0.02
BATCH = 32


class Shadow:
    """The challenger of a service and its worker (started on the first call)."""

    def __init__(self, logger: PredictionLogger, challenger: Predictor | None = None, *,
                 max_pending: int = DEFAULT_MAX_PENDING):
        self.logger = logger
        self.challenger = challenger
        self.max_pending = max_pending
        self.scored = self.skipped = self.failed = 0
        self._pending: collections.deque = collections.deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._submitted = self._done = 0  # calls queued / handed to the logger by the worker
        self._stop = False
        self._thread: threading.Thread | None = None
        self._columns: dict[tuple[Any, tuple[str, ...]], tuple[tuple[str, ...], np.ndarray]] = {}

    def submit(self, record: dict[str, Any], names: tuple[str, ...], values: Sequence[Any]) -> bool:
        """Log `record` (log_prediction's arguments) once the challenger has scored `values`; False when no
        challenger is set (the caller logs it)."""
        challenger = self.challenger
        if challenger is None or self._stop:
            return False
        if len(self._pending) >= self.max_pending:
            self.skipped += 1
            log_prediction(**record, extra=(record.pop("extra", None) or {}) | {CHALLENGER_SKIPPED_KEY: True},
                           logger=self.logger)
            return True
        with self._lock:  # the form's calls come from a thread pool
            self._submitted += 1
            self._pending.append((challenger, record, names, values))
        if self._thread is None:
            self._start()
        return True  # no wake-up per call: the worker looks every POLL_SECONDS and takes what is there

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="shadow-challenger", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(BATCH, len(self._pending)))]
                self._log_batch(batch)
                self._done += len(batch)
                # Hand the interpreter back after each batch: a champion's call waiting for it would
                # otherwise wait up to the switch interval (5 ms) while the worker goes through a backlog.
                time.sleep(0)
            if self._stop and not self._pending:
                return

    def _log_batch(self, batch: list[tuple]) -> None:
        """Score a batch's calls in one matrix per challenger (the row backend: the same bits as one by one),
        then log them; any failure: one by one, each failure on its own line."""
        start = 0
        while start < len(batch):
            challenger = batch[start][0]
            end = start
            while end < len(batch) and batch[end][0] is challenger:
                end += 1
            group = batch[start:end]
            started = time.perf_counter()
            try:
                rows = []
                for _, _, names, values in group:
                    known, keep = self._known(challenger, names)
                    rows.append(challenger.row_of(known, [values[i] for i in keep] if len(keep) != len(names)
                                                  else values))
                scores = challenger.score_matrix(np.concatenate(rows)).tolist()
            except Exception:  # noqa: BLE001 - one by one: each failure on its own call's line
                for _, record, names, values in group:
                    self._log_one(challenger, record, names, values)
            else:
                each = round((time.perf_counter() - started) / len(group), 6)
                for (_, record, _, _), score in zip(group, scores, strict=True):
                    extra = (record.pop("extra", None) or {}) | {
                        CHALLENGER_VERSION_KEY: challenger.model_version, CHALLENGER_SCORE_KEY: score,
                        CHALLENGER_DECISION_KEY: int(score >= challenger.threshold), CHALLENGER_DURATION_KEY: each}
                    log_prediction(**record, extra=extra, logger=self.logger)
                self.scored += len(group)
            start = end

    def _known(self, challenger: Predictor, names: tuple[str, ...]) -> tuple[tuple[str, ...], np.ndarray]:
        key = (challenger.model_version, names)
        found = self._columns.get(key)
        if found is None:
            keep = np.array([i for i, n in enumerate(names) if n in challenger.index], dtype=np.intp)
            if len(self._columns) > 1024:
                self._columns.clear()
            found = self._columns[key] = (tuple(names[i] for i in keep), keep)
        return found

    def _log_one(self, challenger: Predictor, record: dict[str, Any], names: tuple[str, ...],
                 values: Sequence[Any]) -> None:
        extra = record.pop("extra", None) or {}
        started = time.perf_counter()
        try:
            known, keep = self._known(challenger, names)
            picked = [values[i] for i in keep] if len(keep) != len(names) else values
            score = challenger.score_values(known, picked)
            extra = extra | {CHALLENGER_VERSION_KEY: challenger.model_version, CHALLENGER_SCORE_KEY: score,
                             CHALLENGER_DECISION_KEY: int(score >= challenger.threshold),
                             CHALLENGER_DURATION_KEY: round(time.perf_counter() - started, 6)}
            self.scored += 1
        except Exception as exc:  # noqa: BLE001 - the challenger must never lose the champion's line
            self.failed += 1
            extra = extra | {CHALLENGER_VERSION_KEY: challenger.model_version,
                             CHALLENGER_ERROR_KEY: f"{type(exc).__name__}: {exc}"[:300]}
        log_prediction(**record, extra=extra, logger=self.logger)

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
        """Log what is queued, then stop the worker (new calls are then logged without the challenger)."""
        self.drain(timeout)
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def stats(self) -> dict[str, Any]:
        challenger = self.challenger
        return {"on": challenger is not None, "challenger_version": challenger.model_version if challenger else None,
                "scored": self.scored, "pending": len(self._pending), "skipped": self.skipped, "failed": self.failed}
