"""What it costs to have a call on disk before it is answered: `LOG_SYNC` 0 (queue, the default), 1 (written)
and fsync (written and fsync'd), per call and under 8 threads. Each call goes through `log_prediction`, the
function the service logs with.

usage: python benchmarks/bench_log.py [--quick] [--dir DIR]   (DIR: on the disk the log will live on)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.logger import PredictionLogger, log_prediction  # noqa: E402
from scoring import config  # noqa: E402
from scoring.schema import LABEL_LOW_RISK, UI_FEATURE_NAMES  # noqa: E402

INPUT = {name: 0.5 for name in UI_FEATURE_NAMES}
PREDICTION = {"score": 0.2, "label": LABEL_LOW_RISK}


def one_thread(path: Path, sync: str, n: int) -> tuple[np.ndarray, float]:
    """Seconds each `log_prediction` call took, and the seconds until every record was on disk."""
    logger = PredictionLogger(path, sync=sync)
    times = np.empty(n)
    started = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        log_prediction(request_id=str(i), input=INPUT, prediction=PREDICTION, duration=0.01, model_version="v",
                       logger=logger)
        times[i] = time.perf_counter() - t0
    logger.close()
    assert logger.written == n, logger.stats()
    return times, time.perf_counter() - started


def threads(path: Path, sync: str, n: int, workers: int = 8) -> float:
    """Calls per second written by `workers` threads logging n calls in all."""
    logger = PredictionLogger(path, sync=sync)

    def work(w: int) -> None:
        for i in range(n // workers):
            log_prediction(request_id=f"{w}-{i}", input=INPUT, prediction=PREDICTION, duration=0.01,
                           model_version="v", logger=logger)

    started = time.perf_counter()
    pool = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    logger.close()
    assert logger.written == n // workers * workers, logger.stats()
    return logger.written / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dir", type=Path, default=config.LOGS_DIR, help="where the test logs go (default logs/)")
    args = parser.parse_args(argv)
    n = 2_000 if args.quick else 20_000
    args.dir.mkdir(parents=True, exist_ok=True)
    print(f"{n} calls per row, one thread then 8 threads; log on {args.dir} ({os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f})\n")
    print("| LOG_SYNC | call p50 (µs) | call p99 (µs) | 1 thread: calls/s on disk | 8 threads: calls/s | "
          "lost by kill -9 |")
    print("|---|---|---|---|---|---|")
    lost = {"0": "the last ≤ 50 ms", "1": "none (page cache: safe from a process crash)",
            "fsync": "none (also safe from a power loss)"}
    for sync in config.LOG_SYNC_MODES:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            times, total = one_thread(Path(tmp) / "a.log", sync, n)
            rate = threads(Path(tmp) / "b.log", sync, n)
        print(f"| {sync} | {np.median(times) * 1e6:.1f} | {np.percentile(times, 99) * 1e6:.1f} | "
              f"{n / total:,.0f} | {rate:,.0f} | {lost[sync]} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
