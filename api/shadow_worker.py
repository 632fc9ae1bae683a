"""The challenger's own process: scores the batches of calls the service's shadow (api/shadow.py) sends it.

Run as `python -m api.shadow_worker FD` by `api.shadow.Shadow` (never by hand): FD is one end of a socket
pair, read and written as a `multiprocessing.connection.Connection` (length-framed pickles between two
processes that trust each other). A separate process, not a thread, so that the challenger's work never holds
the service's interpreter lock (docs/lifecycle.md, docs/decisions.md): on a machine with a core to spare,
the champion's answers do not feel it.

Each message is `(folder, model_version, files, service, calls)`: the challenger's folder, the version and
the manifest's checksums the service verified (`serving.model_checks`), the service's own figures for its
lines (`(cpu_percent, memory_usage_MB, replica)`: a line describes the service that answered, never this
process), and the calls as `(timestamp, record, names, values)` (`record`: `api.logger.log_prediction`'s
arguments). The worker loads the folder once (`Predictor.from_dir`: checksums, feature list) and scores
only when it holds that very model: a folder changed since the service verified it is refused, call by
call. Scores come from the row backend in chunks of at most `SMALL_BATCH_ROWS` rows: the same bits as one
by one.

The worker also writes out each call's log line (`api.log_writer.format_line`, the service's own formatter)
with the challenger's fields, so that the service's interpreter only pickles the calls and queues the
answer's bytes: formatting a line costs ~11 µs of the service's interpreter lock, which its requests need
(docs/decisions.md). It never writes to the log: the service appends what it gets back, so a worker that
dies mid-batch leaves nothing behind and the service logs the batch itself (`worker_down`), exactly once.
The answer is `(scored, failed, lines, fallback)`: the lines, and `(position, challenger fields)` of the
calls whose line cannot be written as JSON (the service logs those itself, so its logger counts the failure).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from api.log_writer import format_line, record_of
from scoring.schema import (
    CHALLENGER_DECISION_KEY,
    CHALLENGER_DURATION_KEY,
    CHALLENGER_ERROR_KEY,
    CHALLENGER_SCORE_KEY,
    CHALLENGER_VERSION_KEY,
)
from serving.predictor import SMALL_BATCH_ROWS, Predictor

Entry = tuple[tuple[str, ...], Sequence[Any]]


def _known(challenger: Predictor, names: tuple[str, ...], cache: dict) -> tuple[tuple[str, ...], list[int] | None]:
    """The names the challenger reads among `names` (a model without the gender columns ignores them), and
    their positions (None: all of them)."""
    found = cache.get(names)
    if found is None:
        keep = [i for i, n in enumerate(names) if n in challenger.index]
        if len(cache) > 1024:
            cache.clear()
        found = cache[names] = (tuple(names[i] for i in keep), None if len(keep) == len(names) else keep)
    return found


def _row(challenger: Predictor, names: tuple[str, ...], values: Sequence[Any], cache: dict) -> np.ndarray:
    known, keep = _known(challenger, names, cache)
    return challenger.row_of(known, values if keep is None else [values[i] for i in keep])


def score_entries(challenger: Predictor, entries: list[Entry], cache: dict) -> list[float | str]:
    """One result per call: its score, or (when its row cannot be built or scored) the error's text."""
    results: list[float | str] = []
    for start in range(0, len(entries), SMALL_BATCH_ROWS):
        chunk = entries[start:start + SMALL_BATCH_ROWS]
        try:
            matrix = np.concatenate([_row(challenger, names, values, cache) for names, values in chunk])
            results.extend(challenger.score_matrix(matrix).tolist())
        except Exception:  # noqa: BLE001 - one by one: each failure on its own call
            for names, values in chunk:
                try:
                    results.append(float(challenger.score_matrix(_row(challenger, names, values, cache))[0]))
                except Exception as exc:  # noqa: BLE001
                    results.append(f"{type(exc).__name__}: {exc}"[:300])
    return results


class Worker:
    """The loaded challenger (one at a time) and what it answers."""

    def __init__(self) -> None:
        self.loaded: tuple[str, Predictor] | None = None
        self._columns: dict = {}

    def challenger(self, folder: str, version: str, files: dict[str, str]) -> Predictor:
        if self.loaded is None or self.loaded[0] != folder or self.loaded[1].model_version != version \
                or self.loaded[1].artifacts.manifest.get("files") != files:
            self.loaded, self._columns = None, {}
            predictor = Predictor.from_dir(folder)
            if predictor.model_version != version or predictor.artifacts.manifest.get("files") != files:
                raise RuntimeError(f"the challenger folder now holds model {predictor.model_version}, not the "
                                   f"verified {version}: not scored until the service verifies it")
            self.loaded = (folder, predictor)
        return self.loaded[1]

    def answer(self, message: tuple) -> tuple[int, int, list[bytes], list[tuple[int, dict[str, Any]]]]:
        folder, version, files, (cpu, mem, replica), calls = message
        started = time.perf_counter()
        try:
            challenger = self.challenger(folder, version, files)
        except Exception as exc:  # noqa: BLE001 - every call of the batch says why it was not scored
            results: list[float | str] = [f"{type(exc).__name__}: {exc}"[:300]] * len(calls)
            threshold = 1.0  # not read: every call failed
        else:
            results = score_entries(challenger, [(names, values) for _, _, names, values in calls], self._columns)
            threshold = challenger.threshold
        each = round((time.perf_counter() - started) / max(len(calls), 1), 6)
        lines, fallback, failed = [], [], 0
        for i, ((ts, record, _, _), result) in enumerate(zip(calls, results, strict=True)):
            if isinstance(result, str):
                failed += 1
                fields = {CHALLENGER_VERSION_KEY: version, CHALLENGER_ERROR_KEY: result}
            else:
                fields = {CHALLENGER_VERSION_KEY: version, CHALLENGER_SCORE_KEY: result,
                          CHALLENGER_DECISION_KEY: int(result >= threshold), CHALLENGER_DURATION_KEY: each}
            try:
                lines.append(format_line(record_of(ts, **record | {"extra": (record.get("extra") or {}) | fields}),
                                         cpu, mem, replica))
            except (TypeError, ValueError):
                fallback.append((i, fields))
        return len(calls) - failed, failed, lines, fallback


def serve(conn: Connection) -> None:
    """Answer each batch until the service closes its end (or sends None)."""
    worker = Worker()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        conn.send(worker.answer(message))


if __name__ == "__main__":
    os.nice(int(os.environ.get("SHADOW_WORKER_NICE", "0")))  # api.shadow.WORKER_NICE: the champion comes first
    serve(Connection(int(sys.argv[1])))
