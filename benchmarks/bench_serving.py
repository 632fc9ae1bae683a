"""Serving speed over HTTP: POST /api/predict under load next to a bare FastAPI app, and the Gradio path.

usage: python benchmarks/bench_serving.py [--quick] [--model-dir DIR] [--duration S] [--connections N]

1. Reference: a bare FastAPI app (no middleware, one route that parses the same JSON body and answers a
   small JSON object), launched with the same uvicorn settings as the app.
2. `python app_gradio.py` on 127.0.0.1 with logging on; `wrk` (Debian) with N connections for S seconds
   on POST /api/predict, with and without reasons, and on GET /api/applicants/{id} over the store's
   known applicants (the app's default store, or FEATURE_STORE: built on its first start when missing).
   Every POST carries another applicant (a wrk lua script cycles through pre-generated distinct bodies).
   Dossier look-ups twice: 2,000 applicants in turn (their answers cached by the app after the first
   look-up, `api.dossier_cache`), and first look-ups of applicants never asked before (computed).
3. Exact log check: a fixed number of calls from 16 threads, and the log lines they added (none lost,
   none torn).
4. The Gradio path: the form's `predict` event called with gradio_client, in turns with a bare Gradio event.
5. In process, where one call's time goes: the model's own time, validation, log enqueue, serialisation.

In-process figures (predict_credit_score, Predictor.predict) are in benchmarks/bench_predictor.py.
Uses MODEL_DIR / models/ when it holds a model, else trains the small test fixture model (and says so).
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._launch import bench_main, bench_parser, free_port, launched, run_wrk, wrk_script  # noqa: E402
from scoring.schema import REFERENCE_FILE, UI_FEATURE_NAMES, UI_FEATURES  # noqa: E402

APPLICANT = dict(zip(UI_FEATURE_NAMES, (0.45, 0.6, 0.55, 1, 0, 2.0, 1, 0, 1, 1, 0.0), strict=True))
ROUNDS = 3  # turns of the bare route and the app (medians)
N_BODIES = 2_000


def applicants(n: int, model_dir: Path, seed: int = 0) -> list[dict[str, float]]:
    """n distinct valid applicants: the 11 form features drawn within both their form range and the range
    seen in training, one option per exclusive group."""
    ranges = json.loads((model_dir / REFERENCE_FILE).read_text())["ranges"]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a: dict[str, float] = {}
        for f in UI_FEATURES:
            if f.binary:
                a[f.name] = int(rng.integers(0, 2))
            else:
                low, high = max(f.minimum, ranges[f.name]["min"]), min(f.maximum, ranges[f.name]["max"])
                a[f.name] = round(float(rng.uniform(low, high)), 4)
        education = int(rng.integers(0, 3))  # higher, secondary, other
        a["NAME_EDUCATION_TYPE_Higher education"] = int(education == 0)
        a["NAME_EDUCATION_TYPE_Secondary / secondary special"] = int(education == 1)
        a["CODE_GENDER_M"] = 1 - a["CODE_GENDER_F"]
        out.append(a)
    return out


def timings(fn: Callable[[], object], n: int) -> np.ndarray:
    for _ in range(min(20, n)):
        fn()
    out = np.empty(n)
    for i in range(n):
        t = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - t
    return out


def pct(values: np.ndarray, q: float, scale: float) -> str:
    return f"{np.percentile(values, q) * scale:,.1f}"


STORE_WAIT_S = 600  # the default twin store is built by the app on its first start (~30 s on a quiet machine)


def dossier_ids(url: str, model_dir: Path) -> list[int] | None:
    """Every known applicant of the launched app's store, ascending (None: no store)."""
    from scoring.store_build import open_default_store

    deadline = time.monotonic() + STORE_WAIT_S
    while True:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
            state = json.loads(answer.read())["feature_store"]
        if state["loaded"] or "being built" not in (state.get("reason") or "") or time.monotonic() > deadline:
            break
        time.sleep(1)
    store, _ = open_default_store(model_dir, build=False) if state["loaded"] else (None, "")
    if store is None:
        return None
    with store:
        return store.ids(len(store))


def exact_calls(host: str, port: int, bodies: list[bytes], workers: int) -> int:
    """Every body POSTed once over `workers` keep-alive connections; returns the count of 200 answers."""
    ok = [0] * workers

    def work(w: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        for body in bodies[w::workers]:
            conn.request("POST", "/api/predict?reasons=false", body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            ok[w] += resp.status == 200
        conn.close()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(ok)


def log_lines(path: Path) -> tuple[int, int]:
    """(whole JSON lines, torn or corrupt lines) over the log and its rotated files."""
    whole = torn = 0
    for f in path.parent.glob(path.name + "*"):
        if f.name.endswith(".lock"):
            continue
        for line in f.open("rb"):
            try:
                json.loads(line)
                whole += 1
            except ValueError:
                torn += 1
    return whole, torn


def wait_logged(url: str, timeout: float = 30.0) -> dict:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        stats = httpx.get(f"{url}/health").json()["logger"]
        if stats["queued"] == 0 or time.monotonic() > deadline:
            time.sleep(0.2)  # the writer's last pass
            return stats
        time.sleep(0.1)


# --- the references, run by this file itself in a child process ---------------------------------

def serve_bare_fastapi(port: int) -> None:
    """The reference: FastAPI, no middleware, one route that parses the JSON body."""
    import uvicorn

    app = FastAPI()

    @app.post("/api/predict")
    async def predict(request: Request) -> dict:
        body = await request.json()
        return {"n": len(body)}

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "logger": {"queued": 0}}

    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


def serve_bare_gradio(port: int) -> None:
    """The Gradio reference: one event with the form's inputs that returns constants."""
    import gradio as gr
    import uvicorn

    with gr.Blocks(analytics_enabled=False) as demo:
        inputs = [gr.Number() for _ in range(9)]
        outputs = [gr.Textbox() for _ in range(5)]
        gr.Button().click(lambda *a: ("0.1", "x", "y", "z", "w"), inputs=inputs, outputs=outputs, api_name="predict")
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    uvicorn.run(gr.mount_gradio_app(app, demo, path="/", ssr_mode=False), host="127.0.0.1", port=port,
                access_log=False, log_level="warning")


def http_figures(model_dir: Path, duration: int, connections: int, exact_n: int, gradio_n: int,
                 work: Path) -> list[str]:
    wrk = shutil.which("wrk")
    bodies = [json.dumps(a, separators=(",", ":")) for a in applicants(N_BODIES, model_dir)]
    script = wrk_script(work, "post", bodies)
    lines = ["| HTTP path | connections | requests | errors | req/s | vs bare | p50 ms | p99 ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    notes: list[str] = []
    if wrk is None:
        return ["wrk not found (apt-get install wrk): load test skipped."]

    def row(name: str, runs: list[dict[str, float]], bare_runs: list[dict[str, float]] | None) -> str:
        # medians over the rounds; the ratio is the median of each round's ratio to the bare run beside it
        med = {k: float(np.median([r[k] for r in runs])) for k in ("rps", "p50_ms", "p99_ms")}
        ratio = "—" if bare_runs is None else \
            f"{100 * float(np.median([r['rps'] / b['rps'] for r, b in zip(runs, bare_runs, strict=True)])):.0f} %"
        return (f"| {name} | {connections} | {sum(r['requests'] for r in runs):,} | "
                f"{sum(r['errors'] for r in runs)} | {med['rps']:,.0f} | {ratio} | {med['p50_ms']:.2f} | "
                f"{med['p99_ms']:.2f} |")

    bare_port = port = free_port()
    while port == bare_port:
        port = free_port()
    bare_url, url = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{port}"
    log = work / "predictions.log"
    # one client timing form events back to back: the per-client abuse bound (docs/security.md) lifted
    env = {"MODEL_DIR": str(model_dir), "LOG_PATH": str(log), "HOST": "127.0.0.1", "PORT": str(port),
           "HF_HUB_OFFLINE": "1", "FORM_RATE": "100000", "FORM_RATE_BURST": "100000"}
    paths = {"POST /api/predict (with reasons)": "/api/predict",
             "POST /api/predict?reasons=false": "/api/predict?reasons=false"}
    with launched([__file__, "--serve-bare-fastapi", str(bare_port)], f"{bare_url}/health"), \
            launched(["app_gradio.py"], f"{url}/health", env=env):
        # First the feature store: on a first start the app builds it in the background (~30 s of CPU),
        # which would be measured with the calls.
        ids = dossier_ids(url, model_dir)
        get_script = None if ids is None else wrk_script(work, "get", [f"/api/applicants/{i}" for i in ids[:N_BODIES]],
                                                         get=True)
        fresh = [] if ids is None else np.array_split(ids[N_BODIES:], ROUNDS)  # never asked before: not cached
        # The host's speed drifts from one minute to the next: the bare route and the app take turns,
        # ROUNDS times, and each ratio compares runs made side by side.
        runs: dict[str, list[dict[str, float]]] = {"bare": [], **{name: [] for name in paths}, "dossier": [],
                                                   "first": []}
        for i in range(ROUNDS):
            runs["bare"].append(run_wrk(wrk, script, f"{bare_url}/api/predict", connections, duration))
            for name, path in paths.items():
                runs[name].append(run_wrk(wrk, script, url + path, connections, duration))
            if get_script is not None:
                runs["dossier"].append(run_wrk(wrk, get_script, url, connections, duration))
                first = wrk_script(work, f"first{i}", [f"/api/applicants/{a}" for a in fresh[i]], get=True)
                runs["first"].append(run_wrk(wrk, first, url, connections, duration, warm=False))
        lines.append(row("bare FastAPI app: one route, `await request.json()`", runs["bare"], None))
        for name in paths:
            lines.append(row(name, runs[name], runs["bare"]))
        if get_script is None:
            notes.append("GET /api/applicants/{id}: no feature store for this model (see /health): row skipped.")
        else:
            lines.append(row(f"GET /api/applicants/{{id}}, {N_BODIES:,} applicants in turn (answers cached after the "
                             "first look-up)", runs["dossier"], runs["bare"]))
            lines.append(row("GET /api/applicants/{id}, first look-ups (store read + reasons computed)",
                             runs["first"], runs["bare"]))
            notes.append(f"First look-ups: {len(fresh[0]):,} applicants not asked before in each round; a run that "
                         "asks for more cycles back to cached answers.")
        notes.append(f"Each row: the median of {ROUNDS} wrk runs of {duration} s, taken in turns with the bare "
                     "route's; req/s, p50 and p99 are medians of the runs, the ratio the median of the rounds' ratios.")
        stats = wait_logged(url)
        before, torn_before = log_lines(log)
        notes.append(f"Log after the load runs: {before:,} whole lines, {torn_before} torn; writer stats {stats} "
                     "(wrk does not count the calls in flight when it stops, so lines ≥ wrk's count).")
        exact = [b.encode() for b in bodies[:exact_n]] * max(1, exact_n // len(bodies))
        ok = exact_calls("127.0.0.1", port, exact, connections)
        wait_logged(url)
        after, torn = log_lines(log)
        added = after - before
        verdict = "OK, none lost, none torn" if added == ok == len(exact) and torn == 0 else "MISMATCH"
        notes.append(f"Exact check: {len(exact)} distinct calls on {connections} threads → {ok} answered 200, "
                     f"{added} log lines added, {torn} torn lines → {verdict}.")
        gradio_port = free_port()
        with launched([__file__, "--serve-bare-gradio", str(gradio_port)], f"http://127.0.0.1:{gradio_port}/health"):
            gradio_app, gradio_bare = _gradio_timings(url, f"http://127.0.0.1:{gradio_port}", gradio_n)
    lines.append("")
    lines += ["| Gradio event via gradio_client (sequential, the two in turns) | calls | p50 ms | p99 ms |",
              "|---|---:|---:|---:|",
              f"| the form's `predict` | {gradio_n} | {pct(gradio_app, 50, 1e3)} | {pct(gradio_app, 99, 1e3)} |",
              f"| bare Gradio event (same inputs, constant outputs) | {gradio_n} | {pct(gradio_bare, 50, 1e3)} | "
              f"{pct(gradio_bare, 99, 1e3)} |"]
    return lines + [""] + notes


def _gradio_timings(url: str, bare_url: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The form's `predict` event and the bare Gradio event, called in turns (one each, n times) so that
    both see the same machine: (the form's times, the bare event's times)."""
    from gradio_client import Client

    form, bare = Client(url + "/", verbose=False), Client(bare_url + "/", verbose=False)
    calls = [lambda: form.predict(0.45, 0.6, 0.55, "Supérieur", 2.0, True, "Homme", True, 0.0, api_name="/predict"),
             lambda: bare.predict(0.45, 0.6, 0.55, 1, 2.0, 1, 1, 1, 0.0, api_name="/predict")]
    for _ in range(5):  # warm-up of both
        for call in calls:
            call()
    times = np.empty((n, 2))
    for i in range(n):
        for j, call in enumerate(calls):
            started = time.perf_counter()
            call()
            times[i, j] = time.perf_counter() - started
    return times[:, 0], times[:, 1]


def _call_parts(model_dir: Path, n: int = 2_000) -> list[str]:
    """Where one /api/predict call's time goes in process, on the same distinct applicants: the
    model's own time (what no HTTP work can remove) and each step around it."""
    import orjson

    from api.logger import PredictionLogger
    from api.scoring_service import ScoringService

    service = ScoringService.load(model_dir, Path(tempfile.mkdtemp()) / "parts.log")
    predictor, validator = service.require_model()
    rows = applicants(n, model_dir, seed=1)
    bodies = [json.dumps(r).encode() for r in rows]
    scored = [validator.scored(r) for r in rows]  # the features the model reads (gender is recorded only)
    answer = predictor.predict(scored[0]).as_dict()
    logger = PredictionLogger(Path(tempfile.mkdtemp()) / "enqueue.log", interval=3600)  # never drained here
    parts = [
        ("model: `Predictor.predict` with reasons", _cycler(lambda i: predictor.predict(scored[i]), n)),
        ("model: `Predictor.predict` without reasons",
         _cycler(lambda i: predictor.predict(scored[i], explain=False), n)),
        ("validation: `Validator.parse` (orjson + plain checks)", _cycler(lambda i: validator.parse(bodies[i]), n)),
        ("validation: the detailed pydantic path (refusals only)", _cycler(lambda i: validator._slow(bodies[i]), n)),
        ("log record enqueued", _cycler(lambda i: logger.log(request_id="x", input=rows[i], prediction=None,
                                                             duration=0.0, model_version="v"), n)),
        ("answer serialised: orjson", _cycler(lambda i: orjson.dumps(answer), n)),
        ("answer serialised: json.dumps (before)", _cycler(lambda i: json.dumps(answer, ensure_ascii=False), n)),
    ]
    lines = ["| one call's part, in process | p50 µs | p99 µs |", "|---|---:|---:|"]
    for name, fn in parts:
        t = timings(fn, n)
        lines.append(f"| {name} | {pct(t, 50, 1e6)} | {pct(t, 99, 1e6)} |")
    logger.close(timeout=0)
    service.logger.close()
    return lines


def _cycler(fn: Callable[[int], object], n: int) -> Callable[[], object]:
    state = {"i": 0}

    def call() -> object:
        state["i"] = (state["i"] + 1) % n
        return fn(state["i"])

    return call


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, "3 s load runs and fewer calls", load=True)
    parser.add_argument("--serve-bare-fastapi", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare-gradio", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare_fastapi:
        serve_bare_fastapi(args.serve_bare_fastapi)
        return 0
    if args.serve_bare_gradio:
        serve_bare_gradio(args.serve_bare_gradio)
        return 0

    def run(model_dir: Path, work: Path) -> None:
        duration = args.duration or (3 if args.quick else 10)
        print("\n".join(http_figures(model_dir, duration, args.connections, 400 if args.quick else 2_000,
                                     20 if args.quick else 100, work)), flush=True)
        print("\n" + "\n".join(_call_parts(model_dir, 500 if args.quick else 5_000)))

    return bench_main("bench_serving.py", args.model_dir, run)


if __name__ == "__main__":
    sys.exit(main())
