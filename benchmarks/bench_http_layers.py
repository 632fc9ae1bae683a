"""What each HTTP layer of the app costs: the same routes served with the layers added one at a time, under wrk.

usage: python benchmarks/bench_http_layers.py [--quick] [--model-dir DIR] [--duration S] [--connections N]
                                              [--root DIR ...] [--variant NAME ...]

Each variant is its own server process (uvicorn, no access log, start-up objects frozen as the app does),
launched from each project tree given with `--root` (default: this one; give an older checkout too to
compare the code before and after a change in the same run):

- `bare`: FastAPI with one route that parses the JSON body (bench_serving's reference);
- `api`: the JSON API alone (`api.rest.create_api`), logging on; `api, log off`: the same with the log's
  `log` call a no-op (the cost of logging a call: record, queue, the writer thread);
- `api + gate`: behind `api.middleware.Gate` (`api.app.gated`: body limits, 405, uploads, content checks);
- `app`: `api.app.build_app` (the gate, the Gradio form mounted at "/", its queue guard);
- `app + read timeout`: the same on the app's HTTP protocol (`api.server_protocol`): what `app_gradio.py` serves.

wrk runs every variant in turn on each path (ROUNDS rounds; the bare route first in each), so that each
ratio compares runs made side by side on a shared machine. Paths: POST /api/predict with and without
reasons (distinct applicants) and GET /api/applicants/{id} (2,000 known applicants in turn). Beside each
figure, the CPU µs per request of the server's event loop, of its other threads and of wrk: on a saturated
2-core machine all three share the cores. `--variant` (repeatable) serves only those.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._launch import bench_main, bench_parser, free_port, launched, run_wrk, wrk_script  # noqa: E402

VARIANTS = ("api", "api, log off", "api + gate", "app", "app + read timeout")
PATHS = {"POST /api/predict?reasons=false": "/api/predict?reasons=false", "POST /api/predict": "/api/predict",
         "GET /api/applicants/{id}": None}


def serve_variant(variant: str, port: int, root: Path) -> None:
    """Serve `variant` of the app found in the project tree `root` (a child process)."""
    sys.path.insert(0, str(root))
    os.chdir(root)
    import uvicorn

    from api.app import build_app, freeze_startup_objects, gated
    from api.rest import create_api
    from api.scoring_service import ScoringService
    from api.server_protocol import protocol_class

    service = ScoringService.load()
    if variant == "api, log off":
        service.logger.log = lambda **record: None  # type: ignore[method-assign]
    app = {"api": create_api, "api, log off": create_api,
           "api + gate": lambda s: gated(create_api(s), service=s)}.get(variant, build_app)(service)
    freeze_startup_objects()
    http = protocol_class() if variant == "app + read timeout" else "auto"
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning", http=http)


def layer_figures(model_dir: Path, roots: list[Path], duration: int, connections: int, rounds: int,
                  work: Path, variants: tuple[str, ...] = VARIANTS) -> list[str]:
    wrk = shutil.which("wrk")
    if wrk is None:
        return ["wrk not found (apt-get install wrk): skipped."]
    from benchmarks.bench_serving import N_BODIES, applicants  # not in the servers: they import their own tree
    from scoring.store_build import open_default_store

    store, why = open_default_store(model_dir, build=False)
    if store is None:
        return [f"no feature store ({why}): build it (python build_store.py) or set FEATURE_STORE"]
    with store:
        ids = store.ids(N_BODIES)
    scripts = {name: wrk_script(work, f"post{i}", [json.dumps(a, separators=(",", ":"))
                                                    for a in applicants(N_BODIES, model_dir)])
               for i, name in enumerate(PATHS) if PATHS[name] is not None}
    scripts["GET /api/applicants/{id}"] = wrk_script(work, "get", [f"/api/applicants/{i}" for i in ids], get=True)
    servers = {"bare": None} | {f"{v} [{root.name}]" if len(roots) > 1 else v: (v, root)
                                for root in roots for v in variants}
    env = {"MODEL_DIR": str(model_dir), "LOG_PATH": str(work / "p.log"), "HF_HUB_OFFLINE": "1"}
    urls: dict[str, str] = {}
    pids: dict[str, int] = {}
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    with ExitStack() as stack:
        for name, spec in servers.items():
            port = free_port()
            urls[name] = f"http://127.0.0.1:{port}"
            args = ["--serve-bare-fastapi", str(port)] if spec is None else \
                ["--serve", spec[0], str(port), "--root", str(spec[1])]
            script = ROOT / "benchmarks" / ("bench_serving.py" if spec is None else "bench_http_layers.py")
            pids[name] = stack.enter_context(launched([str(script), *args], f"{urls[name]}/health", env=env,
                                                      timeout=180)).pid
        for _ in range(rounds):
            for path_name, path in PATHS.items():
                for name, url in urls.items():
                    target = f"{url}{path}" if path else url
                    if name == "bare":  # the reference: its own route, the POST body
                        target, script = f"{url}/api/predict", scripts["POST /api/predict?reasons=false"]
                    else:
                        script = scripts[path_name]
                    run_wrk(wrk, script, target, 4, 1, warm=False)  # warm-up, not counted
                    runs.setdefault((path_name, name), []).append(_with_cpu(
                        pids[name], lambda s=script, t=target: run_wrk(wrk, s, t, connections, duration, warm=False)))
    lines = ["| path | server | req/s | vs bare | p50 ms | p99 ms | errors | CPU µs/request: server's event loop | "
             "its other threads | wrk |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for path_name in PATHS:
        bare = runs[(path_name, "bare")]
        for name in urls:
            r = runs[(path_name, name)]
            ratio = float(np.median([a["rps"] / b["rps"] for a, b in zip(r, bare, strict=True)]))
            lines.append(f"| {path_name} | {name} | {np.median([x['rps'] for x in r]):,.0f} | {100 * ratio:.0f} % | "
                         f"{np.median([x['p50_ms'] for x in r]):.2f} | {np.median([x['p99_ms'] for x in r]):.2f} | "
                         f"{sum(x['errors'] for x in r)} | {np.median([x['loop_us'] for x in r]):.0f} | "
                         f"{np.median([x['threads_us'] for x in r]):.0f} | {np.median([x['wrk_us'] for x in r]):.0f} |")
    return lines + ["", f"Each figure: the median of {rounds} wrk runs of {duration} s, {connections} connections, "
                        "every server in turn; the ratio is the median of the rounds' ratios to the bare run. CPU per "
                        "request: the CPU seconds of the server's main thread (uvicorn's event loop: every request), "
                        "of its other threads (the log writer) and of wrk, over the requests of the run."]


def _with_cpu(pid: int, run: Any) -> dict[str, float]:
    """`run()` (one wrk run) with the CPU µs per request of the server `pid` (its main thread, its other
    threads) and of the wrk processes it started."""
    server = psutil.Process(pid)

    def threads() -> tuple[float, float]:
        times = server.threads()
        main = sum(t.user_time + t.system_time for t in times if t.id == pid)
        return main, sum(t.user_time + t.system_time for t in times) - main

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    (main0, other0), wrk0 = threads(), children.ru_utime + children.ru_stime
    result = run()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    (main1, other1), wrk1 = threads(), children.ru_utime + children.ru_stime
    per = 1e6 / max(result["requests"], 1)
    return result | {"loop_us": (main1 - main0) * per, "threads_us": max(other1 - other0, 0.0) * per,
                     "wrk_us": (wrk1 - wrk0) * per}


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, "3 s runs, 2 rounds", load=True)
    parser.add_argument("--root", type=Path, action="append", help="a project tree to serve (repeatable)")
    parser.add_argument("--variant", action="append", choices=VARIANTS,
                        help="a variant to serve (repeatable; default: every one)")
    parser.add_argument("--serve", nargs=2, metavar=("VARIANT", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    roots = [r.resolve() for r in args.root or [ROOT]]
    if args.serve:
        serve_variant(args.serve[0], int(args.serve[1]), roots[0])
        return 0

    def run(model_dir: Path, work: Path) -> None:
        variants = tuple(args.variant or VARIANTS)
        print("\n".join(layer_figures(model_dir, roots, args.duration or (3 if args.quick else 10), args.connections,
                                      2 if args.quick else 3, work, variants)))

    return bench_main("bench_http_layers.py", args.model_dir, run)


if __name__ == "__main__":
    sys.exit(main())
