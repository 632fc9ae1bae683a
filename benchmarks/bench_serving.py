"""Serving speed: in-process scoring against the seed's path, /api/predict under load, the Gradio path.

usage: python benchmarks/bench_serving.py [--quick] [--model-dir DIR] [--duration S] [--connections N]

1. In process: `predict_credit_score` (template row + XGBoost's dense predictor) and `Predictor.predict` with
   reasons, next to the seed's path (a dict of every feature → one-row DataFrame → predict_proba).
2. HTTP: `python app_gradio.py` launched on 127.0.0.1 with logging on; `wrk` (Debian) with N
   connections for S seconds on POST /api/predict, with and without reasons; then an exact count:
   a fixed number of calls from a client, and the log lines they added.
3. The Gradio path: the form's `predict` event called with gradio_client.

Uses MODEL_DIR / models/ when it holds a model, else trains the small test fixture model (and says so).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scoring import config  # noqa: E402
from scoring.schema import MANIFEST_FILE, UI_FEATURE_NAMES  # noqa: E402
from tests.helpers import free_port, launched  # noqa: E402

APPLICANT = dict(zip(UI_FEATURE_NAMES, (0.45, 0.6, 0.55, 1, 0, 2.0, 1, 0, 1, 1, 0.0), strict=True))


def timings(fn: Callable[[], object], n: int) -> np.ndarray:
    for _ in range(min(200, n)):
        fn()
    out = np.empty(n)
    for i in range(n):
        t = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - t
    return out


def pct(values: np.ndarray, q: float, scale: float) -> str:
    return f"{np.percentile(values, q) * scale:,.1f}"


def in_process(model_dir: Path, n: int) -> list[str]:
    os.environ["MODEL_DIR"] = str(model_dir)
    import app_gradio
    from api.server import get_service

    predictor = get_service().require_model()[0]
    values = tuple(APPLICANT.values())
    model = predictor.artifacts.model
    template = dict(zip(predictor.features, predictor.template[0].astype(float).tolist(), strict=True))

    def seed_path() -> float:
        row = template | APPLICANT  # every feature of the model, as the seed built it
        return float(model.predict_proba(pd.DataFrame([row], columns=predictor.features))[:, 1][0])

    fast_score = app_gradio.predict_credit_score(*values)[0]
    assert abs(fast_score - seed_path()) < 1e-6, "fast path and seed path disagree"
    rows = [
        ("`predict_credit_score` (template row + XGBoost dense predictor)",
         timings(lambda: app_gradio.predict_credit_score(*values), n)),
        ("`Predictor.predict` with TreeSHAP reasons", timings(lambda: predictor.predict(APPLICANT), n)),
        ("seed path: dict → DataFrame → predict_proba", timings(seed_path, max(n // 5, 200))),
    ]
    seed_p50 = np.percentile(rows[-1][1], 50)
    lines = ["| in-process path | calls | p50 µs | p99 µs | p50 vs seed |", "|---|---:|---:|---:|---:|"]
    for name, t in rows:
        ratio = seed_p50 / np.percentile(t, 50)
        lines.append(f"| {name} | {len(t)} | {pct(t, 50, 1e6)} | {pct(t, 99, 1e6)} | "
                     f"{'—' if t is rows[-1][1] else f'{ratio:,.0f}× faster'} |")
    lines.append(f"\nModel: {len(predictor.features)} features, {model.get_booster().num_boosted_rounds()} rounds.")
    return lines


LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{body}'
"""


def parse_wrk(out: str) -> dict[str, float]:
    def latency(q: str) -> float:
        m = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]

    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "p50_ms": latency("50"), "p99_ms": latency("99"),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": total,
        "errors": (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0),
    }


def exact_calls(host: str, port: int, n: int, workers: int) -> int:
    """n POST /api/predict over `workers` keep-alive connections; returns the count of 200 answers."""
    body = json.dumps(APPLICANT).encode()
    ok = [0] * workers

    def work(w: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        for _ in range(n // workers):
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


def count_lines(path: Path) -> int:
    return sum(1 for f in path.parent.glob(path.name + "*") if not f.name.endswith(".lock")
               for _ in f.open("rb")) if path.parent.exists() else 0


def wait_logged(url: str, timeout: float = 30.0) -> dict:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        stats = httpx.get(f"{url}/health").json()["logger"]
        if stats["queued"] == 0 or time.monotonic() > deadline:
            return stats
        time.sleep(0.1)


def http_and_gradio(model_dir: Path, duration: int, connections: int, exact_n: int, gradio_n: int,
                    work: Path) -> list[str]:
    wrk = shutil.which("wrk")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = work / "predictions.log"
    env = {"MODEL_DIR": str(model_dir), "LOG_PATH": str(log), "HOST": "127.0.0.1", "PORT": str(port),
           "HF_HUB_OFFLINE": "1"}
    lines = ["| HTTP path | connections | requests | errors | req/s | p50 ms | p99 ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    notes = []
    with launched(["app_gradio.py"], f"{url}/health", env=env):
        if wrk is None:
            notes.append("wrk not found (apt-get install wrk): load test skipped.")
        else:
            script = work / "post.lua"
            script.write_text(LUA.format(body=json.dumps(APPLICANT)))
            for name, path in (("POST /api/predict (with reasons)", "/api/predict"),
                               ("POST /api/predict?reasons=false", "/api/predict?reasons=false")):
                subprocess.run([wrk, "-t1", "-c4", "-d1s", "-s", str(script), url + path], capture_output=True)
                out = subprocess.run([wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s",
                                      str(script), url + path], capture_output=True, text=True, check=True).stdout
                r = parse_wrk(out)
                lines.append(f"| {name} | {connections} | {r['requests']:,} | {r['errors']} | {r['rps']:,.0f} | "
                             f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
        stats = wait_logged(url)
        before = count_lines(log)
        notes.append(f"Log after the load runs: {before:,} lines, writer stats {stats} "
                     "(wrk does not count the calls in flight when it stops, so lines ≥ wrk's count).")
        ok = exact_calls("127.0.0.1", port, exact_n, connections)
        wait_logged(url)
        added = count_lines(log) - before
        notes.append(f"Exact check: {exact_n} calls on {connections} threads → {ok} answered 200, "
                     f"{added} log lines added → {'OK, none lost' if added == ok == exact_n else 'MISMATCH'}.")

        from gradio_client import Client

        client = Client(url + "/", verbose=False)
        args = (0.45, 0.6, 0.55, "Supérieur", 2.0, True, "Homme", True, 0.0)
        t = timings(lambda: client.predict(*args, api_name="/predict"), gradio_n)
        lines.append(f"| Gradio event `predict` via gradio_client (sequential) | 1 | {gradio_n} | 0 | "
                     f"{1 / np.mean(t):,.0f} | {pct(t, 50, 1e3)} | {pct(t, 99, 1e3)} |")
    return lines + [""] + notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and a 3 s load test")
    parser.add_argument("--model-dir", type=Path, default=None, help="model artifacts (default: MODEL_DIR or models/)")
    parser.add_argument("--duration", type=int, default=None, help="seconds of each wrk run (default 10, quick 3)")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench_serving_"))
    os.environ["LOG_PATH"] = str(work / "in-process.log")
    try:
        model_dir = args.model_dir or config.model_dir()
        if not (model_dir / MANIFEST_FILE).is_file():
            from tests.api.fixture_model import build_model_dir

            print(f"No model in {model_dir}: using the small test fixture model (17 features).", flush=True)
            model_dir = build_model_dir(work / "model")
        n = 2_000 if args.quick else 20_000
        load_avg = os.getloadavg()
        print(f"Machine: {os.cpu_count()} cores, load average {load_avg[0]:.1f} at start "
              "(other work on the machine slows every figure).\n", flush=True)
        print("\n".join(in_process(model_dir, n)) + "\n", flush=True)
        duration = args.duration or (3 if args.quick else 10)
        print("\n".join(http_and_gradio(model_dir, duration, args.connections, 400 if args.quick else 2_000,
                                        20 if args.quick else 100, work)), flush=True)
        print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
