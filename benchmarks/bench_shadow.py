"""The champion's latency with shadow scoring off and on, in the same run (target: p99 at most 10 % higher on).

usage: python benchmarks/bench_shadow.py [--quick] [--model-dir DIR] [--duration S] [--connections N]

Two `python app_gradio.py` processes on 127.0.0.1 with the same champion (MODEL_DIR / models/) and logging
on: one without a challenger, one with a challenger folder holding a copy of the champion (a challenger of
the same size: the same work per call as a real retrained one), scored in its own process
(api/shadow_worker.py). `wrk` posts distinct applicants to POST /api/predict on each in turn (ROUNDS
rounds; medians; each ratio compares two runs made side by side). Then the log of the shadowed app is
checked (every line carries the challenger's fields) and the CPU each process used per request is shown.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._launch import bench_main, bench_parser, free_port, launched, run_wrk, wrk_script  # noqa: E402
from benchmarks.bench_serving import applicants  # noqa: E402
from scoring.schema import CHALLENGER_VERSION_KEY  # noqa: E402

ROUNDS = 3
TARGET = 1.10  # p99 with the shadow on / off


def shadow_figures(model_dir: Path, duration: int, connections: int, work: Path) -> list[str]:
    wrk = shutil.which("wrk")
    if wrk is None:
        return ["wrk not found (apt-get install wrk): skipped."]
    bodies = [json.dumps(a, separators=(",", ":")) for a in applicants(2_000, model_dir)]
    script = wrk_script(work, "post", bodies)
    challenger = work / "challenger"
    shutil.copytree(model_dir, challenger)
    apps = {}
    for name, shadow_dir in (("off", work / "no-challenger"), ("on", challenger)):
        port = free_port()
        apps[name] = (f"http://127.0.0.1:{port}", {
            "MODEL_DIR": str(model_dir), "LOG_PATH": str(work / f"{name}.log"), "HOST": "127.0.0.1",
            "PORT": str(port), "HF_HUB_OFFLINE": "1", "CHALLENGER_DIR": str(shadow_dir), "FEATURE_STORE":
            str(work / "none.sqlite")})
    runs: dict[str, list[dict[str, float]]] = {"off": [], "on": []}  # the challenger folder stays for in process
    cpu: dict[str, float] = {}
    with launched(["app_gradio.py"], f"{apps['off'][0]}/health", env=apps["off"][1]) as off_app, \
            launched(["app_gradio.py"], f"{apps['on'][0]}/health", env=apps["on"][1]) as on_app:
        procs = {"off": psutil.Process(off_app.pid), "on": psutil.Process(on_app.pid)}
        run_wrk(wrk, script, f"{apps['on'][0]}/api/predict", connections, 1)  # starts the challenger's process
        _wait_shadow_ready(f"{apps['on'][0]}/health")
        start = {name: _cpu(p) for name, p in procs.items()}
        for round_ in range(ROUNDS):
            for name in ("off", "on") if round_ % 2 == 0 else ("on", "off"):  # neither always goes first
                runs[name].append(run_wrk(wrk, script, f"{apps[name][0]}/api/predict", connections, duration))
        time.sleep(1.0)  # the shadow worker and the log writer catch up
        for name, p in procs.items():
            (app, main, workers), (app0, main0, workers0) = _cpu(p), start[name]
            cpu[f"{name} app"], cpu[f"{name} worker"] = app - app0, workers - workers0
            cpu[f"{name} main"] = main - main0
    lines = (work / "on.log").read_text().splitlines()
    shadowed = sum(CHALLENGER_VERSION_KEY in json.loads(line) for line in lines)
    out = ["| champion, POST /api/predict | connections | requests | errors | req/s | p50 ms | p99 ms |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for name in ("off", "on"):
        med = {k: float(np.median([r[k] for r in runs[name]])) for k in ("rps", "p50_ms", "p99_ms")}
        out.append(f"| shadow {name} | {connections} | {sum(r['requests'] for r in runs[name]):,} | "
                   f"{sum(r['errors'] for r in runs[name])} | {med['rps']:,.0f} | {med['p50_ms']:.2f} | "
                   f"{med['p99_ms']:.2f} |")
    ratios = [on["p99_ms"] / off["p99_ms"] for on, off in zip(runs["on"], runs["off"], strict=True)]
    ratio = float(np.median(ratios))
    out += ["", f"p99 shadow on / off: {ratio:.3f} (median of {ROUNDS} side-by-side ratios "
                f"{', '.join(f'{r:.3f}' for r in ratios)}; target ≤ {TARGET:.2f}: "
                f"{'met' if ratio <= TARGET else 'NOT met'}).",
            f"Shadowed app's log: {shadowed:,} of {len(lines):,} lines carry the challenger's answer."]
    per = {name: 1e6 / max(sum(r["requests"] for r in runs[name]), 1) for name in runs}
    out.append(f"CPU per request: shadow off, app {cpu['off app'] * per['off']:.0f} µs; shadow on, app "
               f"{cpu['on app'] * per['on']:.0f} µs + challenger's process {cpu['on worker'] * per['on']:.0f} µs.")
    out.append(f"Of which the app's other threads (log writer, shadow sender): shadow off "
               f"{(cpu['off app'] - cpu['off main']) * per['off']:.0f} µs, on "
               f"{(cpu['on app'] - cpu['on main']) * per['on']:.0f} µs (the rest: the event loop's thread).")
    return out


def _wait_shadow_ready(health: str, timeout: float = 180.0) -> None:
    """Until the challenger's process has answered and caught up (its start-up is not what is measured)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(health, timeout=10) as resp:
            shadow = json.loads(resp.read())["shadow"]
        if shadow["scored"] > 0 and shadow["pending"] == 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the challenger's process did not answer within {timeout:.0f} s")


def _cpu(process: psutil.Process) -> tuple[float, float, float]:
    """CPU seconds (user + system) of a process, of its main thread (the event loop's), and of its children
    (the challenger's process)."""
    def used(p: psutil.Process) -> float:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            return 0.0
        return t.user + t.system
    try:
        main = next((t.user_time + t.system_time for t in process.threads() if t.id == process.pid), 0.0)
    except psutil.NoSuchProcess:
        main = 0.0
    return used(process), main, sum(used(c) for c in process.children(recursive=True))


def in_process_figures(model_dir: Path, calls: int, work: Path) -> list[str]:
    """The champion's own call (`ScoringService.score`, reasons on, log on) timed in process, shadow off and
    on in alternating blocks: what the shadow adds to the answer's path (the submit, and the worker's share
    of the interpreter) without the HTTP stack's noise."""
    from api.logger import PredictionLogger
    from api.scoring_service import ScoringService
    from api.shadow import Shadow
    from serving.predictor import Predictor

    champion = Predictor.from_dir(model_dir)
    challenger = Predictor.from_dir(work / "challenger") if (work / "challenger").is_dir() else champion
    bodies = applicants(2_000, model_dir)
    services = {}
    for name, shadowed in (("off", None), ("on", challenger)):
        service = ScoringService(champion, PredictionLogger(work / f"inproc-{name}.log"))
        service.shadow = Shadow(service.logger, shadowed)
        services[name] = service
    times: dict[str, list[float]] = {"off": [], "on": []}
    block = 500
    for start in range(0, calls, block):
        for name in ("off", "on") if (start // block) % 2 == 0 else ("on", "off"):
            service = services[name]
            for i in range(start, min(start + block, calls)):
                began = time.perf_counter()
                service.score(bodies[i % len(bodies)], request_id=f"r{i}", started=began)
                times[name].append(time.perf_counter() - began)
    for service in services.values():
        service.close()
    out = ["| in process, `ScoringService.score` (reasons, log) | calls | p50 µs | p99 µs |", "|---|---:|---:|---:|"]
    for name in ("off", "on"):
        t = np.array(times[name]) * 1e6
        out.append(f"| shadow {name} | {len(t):,} | {np.percentile(t, 50):.1f} | {np.percentile(t, 99):.1f} |")
    p99 = {name: np.percentile(times[name], 99) for name in times}
    out.append(f"\nIn process, p99 shadow on / off: {p99['on'] / p99['off']:.3f} (blocks of {block} calls in turns).")
    return out


def main(argv: list[str] | None = None) -> int:
    args = bench_parser(__doc__, "3 s load runs", load=True).parse_args(argv)

    def run(model_dir: Path, work: Path) -> None:
        print("\n".join(shadow_figures(model_dir, args.duration or (3 if args.quick else 10), args.connections,
                                       work)))
        print("\n" + "\n".join(in_process_figures(model_dir, 4_000 if args.quick else 40_000, work)))

    return bench_main("bench_shadow.py", args.model_dir, run)


if __name__ == "__main__":
    sys.exit(main())
