"""Launching the app (or any server) as a real process on a free loopback port, for benchmarks and tests;
what every benchmark's `main` does around its figures (`bench_parser`, `bench_main`); driving a server with
`wrk` (`wrk_script`, `run_wrk`).

`benchmarks/` import nothing from `tests/`; the tests import these from here (`tests/helpers.py`).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until `url` answers 200, failing early if `proc` died."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last = exc
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s (last error: {last})")


@contextmanager
def launched(args: list[str], url: str, env: dict[str, str] | None = None, cwd: Path | None = None,
             log_file: Path | None = None, timeout: float = 90.0) -> Iterator[subprocess.Popen]:
    """Start `python *args` as a real process, wait for `url`, stop it afterwards."""
    full_env = os.environ | {"GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"} | (env or {})
    out = open(log_file, "wb") if log_file else subprocess.DEVNULL  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen([sys.executable, *args], cwd=cwd or PROJECT_ROOT, env=full_env,
                            stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_http(url, timeout=timeout, proc=proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log_file:
            out.close()


# --- what every benchmark's `main` does around its figures ---------------------------------------

def bench_parser(doc: str, quick: str, *, load: bool = False) -> argparse.ArgumentParser:
    """The options every benchmark takes (`--quick`, `--model-dir`); with `load`, those of its wrk runs."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--model-dir", type=Path, default=None, help="model artifacts (default: MODEL_DIR or models/)")
    if load:
        parser.add_argument("--duration", type=int, default=None, help="seconds of each wrk run (default 10, quick 3)")
        parser.add_argument("--connections", type=int, default=16)
    return parser


def bench_main(name: str, model_dir: Path | None, run: Callable[[Path, Path], None], *,
               needs: tuple[str, ...] = ("manifest.json",), fix: str = "run `python train.py` first") -> int:
    """Check the model folder (exit 2 saying `fix` when a file of `needs` is absent), then `run(model_dir, work)`
    in a work folder removed afterwards, with the machine's load average printed before and after."""
    from scoring import config  # the project's settings: imported once the caller has put the root on sys.path

    model_dir = model_dir or config.model_dir()
    if not all((model_dir / f).is_file() for f in needs):
        print(f"{name}: no model with {', '.join(needs)} in {model_dir}: {fix}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix=Path(name).stem + "_"))
    try:
        print(f"Machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start "
              "(other work on the machine slows every figure).\n", flush=True)
        run(model_dir, work)
        print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


# --- wrk: distinct requests from a lua script, its output read back ---------------------------------

# POST one body after another (each request takes the next line of the file).
LUA_POST = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
bodies = {}
for line in io.lines("%(lines)s") do bodies[#bodies + 1] = line end
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, bodies[(counter %% #bodies) + 1])
end
"""
# GET one path after another (dossier look-ups).
LUA_GET = """paths = {}
for line in io.lines("%(lines)s") do paths[#paths + 1] = line end
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def wrk_script(work: Path, name: str, lines: list[str], *, get: bool = False) -> Path:
    """A wrk script in `work` that cycles over `lines` (JSON bodies to POST, or paths to GET)."""
    data = work / f"{name}.txt"
    data.write_text("".join(line + "\n" for line in lines))
    script = work / f"{name}.lua"
    script.write_text((LUA_GET if get else LUA_POST) % {"lines": data})
    return script


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


def run_wrk(wrk: str, script: Path, url: str, connections: int, duration: int, warm: bool = True) -> dict[str, float]:
    """One wrk run (after a 1-s warm-up unless `warm` is False): requests, errors, req/s, p50 and p99 in ms."""
    if warm:
        subprocess.run([wrk, "-t1", "-c4", "-d1s", "-s", str(script), url], capture_output=True, check=True)
    out = subprocess.run([wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)
