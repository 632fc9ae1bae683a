"""cProfile of the paths a user waits on, written as `.prof` files that `snakeviz` opens.

- `predict`: N calls of `predict_credit_score` (the seed's function), distinct applicants.
- `api`: N `POST /api/predict` calls through the FastAPI app's ASGI interface, in process (no
  socket, no client library in the profile), with reasons and the prediction log on.
- `batch`: `serving.batch.score_file` on a generated features CSV of R rows (what `inference.py` runs).
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import logging
import os
import pstats
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from api.rest import create_api
from api.scoring_service import ScoringService
from api.seed import predict_credit_score
from scoring.artifacts import load_artifacts
from scoring.onnx_export import training_like_rows
from scoring.schema import ID_COLUMN, UI_FEATURE_NAMES
from serving.batch import score_file
from serving.predictor import Predictor

log = logging.getLogger(__name__)

TARGETS = ("predict", "api", "batch")
# The form's example applicant; each call varies the three external scores.
EXAMPLE = (0.45, 0.6, 0.55, 1, 0, 2.0, 1, 0, 1, 1, 0.0)


@dataclass(frozen=True)
class Profile:
    name: str
    path: Path
    calls: int
    seconds: float  # wall time of the profiled calls (cProfile's overhead included)
    unit: str = "calls"

    def top(self, n: int = 15, sort: str = "cumulative") -> str:
        """The `n` functions with the most cumulative time, as pstats prints them."""
        out = io.StringIO()
        pstats.Stats(str(self.path), stream=out).strip_dirs().sort_stats(sort).print_stats(n)
        return out.getvalue()


def applicants(n: int, seed: int = 0) -> list[tuple[float, ...]]:
    """`n` distinct applicants of the form (the 11 UI features in schema order)."""
    ext = np.random.default_rng(seed).uniform(0.15, 0.85, size=(n, 3)).round(4)
    return [(*map(float, e), *EXAMPLE[3:]) for e in ext]


def _profiled(name: str, out_dir: Path, calls: int, run: Callable[[], Any], unit: str = "calls") -> Profile:
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    run()
    profiler.disable()
    seconds = time.perf_counter() - started
    path = out_dir / f"profile_{name}.prof"
    profiler.dump_stats(str(path))
    log.info("%s: %d %s in %.2f s -> %s", name, calls, unit, seconds, path)
    return Profile(name, path, calls, seconds, unit)


def profile_predict(model_dir: Path, out_dir: Path, n: int) -> Profile:
    os.environ["MODEL_DIR"] = str(model_dir)
    rows = applicants(n)
    predict_credit_score(*rows[0])  # load the model outside the profile

    def run() -> None:
        for row in rows:
            predict_credit_score(*row)

    return _profiled("predict", out_dir, n, run)


async def _post(app: Any, path: str, body: bytes, query: bytes = b"") -> int:
    """One HTTP request through the ASGI interface; returns the status code."""
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 7860)}
    await app(scope, receive, send)
    return status


def profile_api(model_dir: Path, out_dir: Path, n: int) -> Profile:
    # the calls' log goes to a temporary folder: in logs/, a `logs/*.log` glob would merge it into the real log
    scratch = tempfile.TemporaryDirectory(prefix="profile-log-")
    service = ScoringService.load(model_dir, Path(scratch.name) / "profile_predictions.log")
    if service.predictor is None:
        raise RuntimeError(service.load_error)
    app = create_api(service)
    bodies = [json.dumps(dict(zip(UI_FEATURE_NAMES, row, strict=True))).encode() for row in applicants(n, seed=1)]

    async def calls() -> list[int]:
        return [await _post(app, "/api/predict", body) for body in bodies]

    statuses: list[int] = []

    def job() -> Profile:  # in a thread of its own: its own event loop, whatever the caller runs
        asyncio.run(_post(app, "/api/predict", bodies[0]))  # warm-up outside the profile
        return _profiled("api", out_dir, n, lambda: statuses.extend(asyncio.run(calls())))

    try:
        with ThreadPoolExecutor(1) as pool:
            profile = pool.submit(job).result()
    finally:
        service.logger.close()
        scratch.cleanup()
    failed = [s for s in statuses if s != 200]
    if failed:
        raise RuntimeError(f"{len(failed)} of {n} /api/predict calls failed (status {failed[0]})")
    return profile


def features_file(model_dir: Path, path: Path, rows: int, seed: int = 0) -> Path:
    """A features CSV of `rows` applicants like the training population (SK_ID_CURR + model columns)."""
    artifacts = load_artifacts(model_dir, with_derived=False)
    matrix = training_like_rows(artifacts, artifacts.template_row(), rows, seed=seed)
    frame = pd.DataFrame(matrix, columns=artifacts.features)
    frame.insert(0, ID_COLUMN, np.arange(100_000, 100_000 + rows))
    frame.to_csv(path, index=False, float_format="%.6g")
    return path


def profile_batch(model_dir: Path, out_dir: Path, rows: int) -> Profile:
    predictor = Predictor.from_dir(model_dir)
    with tempfile.TemporaryDirectory(prefix="profile_batch_") as tmp:
        source = features_file(model_dir, Path(tmp) / "features.csv", rows)
        output = Path(tmp) / "scores.csv"
        return _profiled("batch", out_dir, rows,
                         lambda: score_file(source, output, predictor=predictor, progress=False), unit="rows")


def run_profiles(model_dir: Path, out_dir: Path, *, n: int, batch_rows: int,
                 targets: tuple[str, ...] = TARGETS) -> list[Profile]:
    """Profile each of `targets` (see TARGETS) and write `<out_dir>/profile_<target>.prof`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    runners = {"predict": lambda: profile_predict(model_dir, out_dir, n),
               "api": lambda: profile_api(model_dir, out_dir, n),
               "batch": lambda: profile_batch(model_dir, out_dir, batch_rows)}
    return [runners[t]() for t in targets]
