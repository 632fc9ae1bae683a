"""The CPU of one `POST /api/predict` in the ASGI app itself, without the server: the bare FastAPI route, the
served app through FastAPI's stack, and the served app with the gate's direct route (`api.direct_route`).

usage: python benchmarks/bench_asgi_path.py [--quick] [--model-dir DIR] [--rounds N]

One process calls each ASGI app with the same distinct bodies (`bench_serving.applicants`), in turns, round
after round; each figure is the process's CPU time (every thread: the log writer's included, its queue
drained at the end of each round) over the calls, the median of the rounds. What uvicorn and the kernel
add is the same for every app (`bench_serving.py`, `bench_http_layers.py` measure it over HTTP): these
figures are what the app adds to it, and what the reference's own stack costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request  # module level: the endpoint's annotations are resolved here

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._launch import bench_main, bench_parser  # noqa: E402
from benchmarks.bench_serving import N_BODIES, applicants  # noqa: E402


def bare_app() -> Any:
    """`bench_serving.serve_bare_fastapi`'s app: one route that parses the JSON body."""
    app = FastAPI()

    @app.post("/api/predict")
    async def predict(request: Request) -> dict:
        body = await request.json()
        return {"n": len(body)}

    return app


def _scope(body: bytes, query: bytes) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5555), "scheme": "http", "method": "POST",
            "root_path": "", "path": "/api/predict", "raw_path": b"/api/predict", "query_string": query, "state": {},
            "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                        (b"content-length", b"%d" % len(body))]}


async def _calls(app: Any, bodies: list[bytes], query: bytes) -> int:
    statuses = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for body in bodies:
        async def receive(body: bytes = body) -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        await app(_scope(body, query), receive, send)
    return sum(s == 200 for s in statuses)


def asgi_figures(model_dir: Path, rounds: int, n: int) -> list[str]:
    import os
    import tempfile

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from api.app import build_app, freeze_startup_objects
    from api.scoring_service import ScoringService

    service = ScoringService.load(model_dir, Path(tempfile.mkdtemp()) / "asgi.log")
    served = build_app(service)
    gate = served.app
    direct = dict(gate.direct)
    bare = bare_app()
    freeze_startup_objects()
    bodies = [json.dumps(a, separators=(",", ":")).encode() for a in applicants(N_BODIES, model_dir)][:n]

    def stack(on: bool) -> Any:
        def use() -> Any:
            gate.direct = direct if on else {}
            return served
        return use

    apps = {"bare FastAPI route": lambda: bare, "served app, FastAPI's stack": stack(False),
            "served app, gate → direct route": stack(True)}
    lines = ["| path | app | CPU µs a call (median) | rounds' range | answered 200 |", "|---|---|---:|---:|---:|"]
    for label, query in (("`?reasons=false`", b"reasons=false"), ("with reasons", b"")):
        times: dict[str, list[float]] = {name: [] for name in apps}
        ok: dict[str, int] = dict.fromkeys(apps, 0)
        for _ in range(rounds + 1):  # the first round warms every app up and is not counted
            for name, get in apps.items():
                app = get()
                started = time.process_time()
                answered = asyncio.run(_calls(app, bodies, query))
                service.logger.flush()
                times[name].append((time.process_time() - started) / len(bodies) * 1e6)
                ok[name] += answered
        for name in apps:
            kept = times[name][1:]
            lines.append(f"| {label} | {name} | {np.median(kept):.1f} | {min(kept):.1f}–{max(kept):.1f} | "
                         f"{ok[name]:,} |")
    service.close()
    return lines + ["", f"{rounds} rounds of {len(bodies):,} distinct bodies per app, in turns; CPU time of the "
                        "whole process (the log writer's thread included)."]


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, "3 rounds of 1,000 calls")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 7, quick 3)")
    args: argparse.Namespace = parser.parse_args(argv)

    def run(model_dir: Path, work: Path) -> None:
        rounds = args.rounds or (3 if args.quick else 7)
        print("\n".join(asgi_figures(model_dir, rounds, 1_000 if args.quick else N_BODIES)))

    return bench_main("bench_asgi_path.py", args.model_dir, run)


if __name__ == "__main__":
    sys.exit(main())
