"""Generate and featurise the synthetic twin at the full Kaggle size; time and peak memory per stage.

usage: python benchmarks/bench_full_twin.py [--quick] [--applicants N] [--repeat R] [--seed S]

Full size is 307,511 applicants (about 1.7M bureau, 25M bureau_balance, 1.7M previous, 10M POS,
13.6M instalment and 3.8M card rows); --quick runs 10 % of it. Memory is the process's resident
set size, sampled every 20 ms by a thread (psutil): "peak" is the highest value seen during the
stage, "added" the peak minus the size when the stage started.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring import config, features, synthetic  # noqa: E402

FULL_SIZE = 307_511


class PeakMemory:
    """Highest resident set size of this process while the block runs (MB)."""

    def __init__(self, interval: float = 0.02) -> None:
        self.process = psutil.Process()
        self.interval = interval
        self.start_mb = self.peak_mb = 0.0
        self._stop = threading.Event()

    def _rss(self) -> float:
        return self.process.memory_info().rss / 1e6

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, self._rss())

    def __enter__(self) -> PeakMemory:
        self.start_mb = self.peak_mb = self._rss()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._rss())


def run_once(applicants: int, seed: int) -> tuple[dict[str, tuple[float, float, float]], dict[str, int], int]:
    stages: dict[str, tuple[float, float, float]] = {}
    with PeakMemory() as memory:
        start = time.perf_counter()
        twin = synthetic.generate(applicants, seed, progress=True)
        elapsed = time.perf_counter() - start
    stages["generation"] = (elapsed, memory.peak_mb, memory.peak_mb - memory.start_mb)
    rows = {name: len(frame) for name, frame in twin.tables.items()}
    with PeakMemory() as memory:
        start = time.perf_counter()
        frame = features.build_features(twin.tables, progress=True)
        elapsed = time.perf_counter() - start
    stages["features"] = (elapsed, memory.peak_mb, memory.peak_mb - memory.start_mb)
    return stages, rows, frame.shape[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 %% of the full size")
    parser.add_argument("--applicants", type=int, help=f"applicants (default {FULL_SIZE}, or 10 %% with --quick)")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the table shows medians (default 1)")
    parser.add_argument("--seed", type=int, default=config.DEFAULT_SEED)
    args = parser.parse_args(argv)
    applicants = args.applicants or (FULL_SIZE // 10 if args.quick else FULL_SIZE)
    runs = [run_once(applicants, args.seed) for _ in range(max(1, args.repeat))]
    rows, n_features = runs[0][1], runs[0][2]
    total_rows = sum(rows.values())

    print(f"\nSynthetic twin, {applicants:,} applicants, seed {args.seed}, {len(runs)} run(s), "
          f"{psutil.cpu_count()} CPUs; {total_rows:,} rows in 7 tables, {n_features} features\n")
    print("| stage | time (s, median) | rows / s | peak RSS (MB) | added during stage (MB) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    totals = [0.0] * len(runs)
    for stage in ("generation", "features"):
        times = [run[0][stage][0] for run in runs]
        for i, t in enumerate(times):
            totals[i] += t
        peak = max(run[0][stage][1] for run in runs)
        added = max(run[0][stage][2] for run in runs)
        median = statistics.median(times)
        print(f"| {stage} | {median:.1f} | {total_rows / median:,.0f} | {peak:,.0f} | {added:,.0f} |")
    print(f"| total | {statistics.median(totals):.1f} | {total_rows / statistics.median(totals):,.0f} | | |")
    print("\n| table | rows | rows per applicant |")
    print("| --- | ---: | ---: |")
    for name, count in rows.items():
        print(f"| {name} | {count:,} | {count / applicants:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
