"""Single process against a Dask LocalCluster on the synthetic twin: wall time and peak memory per process.

usage: python benchmarks/bench_cluster.py [--quick] [--applicants N] [--workers 2] [--worker-memory 3GB]
                                          [--folds 2] [--parts 16]

Three jobs, each in its own process tree, memory sampled every 0.2 s (psutil, resident set size of
every process of the tree; "peak" is the highest value seen per process):
1. `python -m scoring.partition`: the twin generated and written as the partitioned dataset;
2. single process: the twin generated in memory, `build_features`, `train_model` (as `train.py`);
3. cluster: `train_on_cluster` (features per part on the workers, `xgboost.dask` CV + refit) on a
   `LocalCluster` of --workers processes limited to --worker-memory each, then batch scoring of
   every applicant's file (`score_on_cluster`, one task per part) for rows/s.
Full size: 307,511 applicants (needs ~8 GB for the single side: run it under `flock /tmp/heavy.lock`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FULL_SIZE = 307_511


def _single(args) -> dict:
    from scoring import features, synthetic
    from scoring.training import TrainConfig, train_model

    out = {}
    start = time.perf_counter()
    twin = synthetic.generate(args.applicants, args.seed, progress=False)
    out["generation"] = time.perf_counter() - start
    start = time.perf_counter()
    frame = features.build_features(twin.tables, progress=False)
    out["features"] = time.perf_counter() - start
    target = twin.tables.application.set_index("SK_ID_CURR").loc[frame.index, "TARGET"].to_numpy()
    del twin
    start = time.perf_counter()
    result = train_model(frame, target, TrainConfig(seed=args.seed, n_splits=args.folds), quiet=True)
    out["training"] = time.perf_counter() - start
    out["auc"] = result.metrics["auc"]
    return out


def _cluster(args) -> dict:
    from cluster import connect
    from cluster.batch import score_on_cluster
    from cluster.features import open_layout
    from cluster.training import train_on_cluster
    from scoring.publish import write_model
    from scoring.training import TrainConfig

    out = {}
    spec = f"local:{args.workers}x{args.worker_memory}"
    layout = open_layout(args.layout)
    start = time.perf_counter()
    with connect(spec) as client:
        out["cluster start"] = time.perf_counter() - start
        start = time.perf_counter()
        result = train_on_cluster(client, layout, TrainConfig(seed=args.seed, n_splits=args.folds), quiet=True)
        out["features + training"] = time.perf_counter() - start
        address = client.scheduler.address
        model_dir = Path(args.layout) / "_model"
        write_model(model_dir, model=result.model, features=result.features, threshold=result.threshold,
                        metrics=result.metrics, reference=result.reference)
        start = time.perf_counter()
        report = score_on_cluster(f"{args.layout}/part-*/application_train.parquet", Path(args.layout) / "_scores",
                                  cluster=address, model_dir=model_dir, data_dir=args.layout, progress=False)
        out["batch scoring"] = time.perf_counter() - start
    out["auc"] = result.metrics["auc"]
    out["scored"] = report.scored
    return out


class TreeMemory:
    """Peak resident set size of a process and of each of its descendants (MB)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                continue
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0.0), proc.memory_info().rss / 1e6)

    def stop(self) -> tuple[float, list[float]]:
        self._stop.set()
        self._thread.join()
        root = self.peaks.pop(self.root.pid, 0.0)
        return root, sorted(self.peaks.values(), reverse=True)


def _run(cmd: list[str]) -> tuple[dict, float, float, list[float]]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    memory = TreeMemory(proc.pid)
    stdout, _ = proc.communicate()
    wall = time.perf_counter() - start
    root, others = memory.stop()
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed with code {proc.returncode}")
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    return (json.loads(lines[-1]) if lines else {}), wall, root, others


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30,000 applicants")
    parser.add_argument("--applicants", type=int, default=None, help=f"twin size (default {FULL_SIZE:,})")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-memory", default="3GB", help="memory limit of each worker (default 3GB)")
    parser.add_argument("--folds", type=int, default=2, help="cross-validation folds, both sides (default 2)")
    parser.add_argument("--parts", type=int, default=16)
    parser.add_argument("--no-single", action="store_true",
                        help="skip the single-process side (its full-size peak: benchmarks/bench_full_twin.py)")
    parser.add_argument("--side", choices=("single", "cluster"), help=argparse.SUPPRESS)
    parser.add_argument("--layout", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.applicants = args.applicants or (30_000 if args.quick else FULL_SIZE)
    if args.side:
        print(json.dumps(_single(args) if args.side == "single" else _cluster(args)))
        return 0

    common = ["--applicants", str(args.applicants), "--seed", str(args.seed), "--folds", str(args.folds),
              "--workers", str(args.workers), "--worker-memory", args.worker_memory]
    me = [sys.executable, str(Path(__file__).resolve())]
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        layout = Path(tmp) / "parts"
        _, part_wall, part_peak, _ = _run([sys.executable, "-m", "scoring.partition", "--out", str(layout),
                                           "--applicants", str(args.applicants), "--seed", str(args.seed),
                                           "--parts", str(args.parts), "--quiet"])
        single = None if args.no_single else _run([*me, *common, "--side", "single"])
        cluster, cluster_wall, client_peak, others = _run([*me, *common, "--side", "cluster", "--layout", str(layout)])
    workers = others[:args.workers]  # the largest descendants are the workers (nannies stay small)
    print(f"\nTwin of {args.applicants:,} applicants (seed {args.seed}), {args.folds}-fold CV + refit, "
          f"{psutil.cpu_count()} CPUs; cluster: LocalCluster {args.workers} workers x {args.worker_memory}, "
          f"1 thread each, {args.parts} parts\n")
    print("| job | wall (s) | stages (s) | peak RSS per process (MB) | holdout AUC |")
    print("| --- | ---: | --- | --- | ---: |")
    print(f"| partition (`python -m scoring.partition`) | {part_wall:.0f} | | {part_peak:,.0f} | |")
    if single is not None:
        result, wall, peak, _ = single
        stages = ", ".join(f"{k} {v:.0f}" for k, v in result.items() if k != "auc")
        print(f"| single process | {wall:.0f} | {stages} | {peak:,.0f} | {result['auc']:.4f} |")
    stages = ", ".join(f"{k} {v:.0f}" for k, v in cluster.items() if k not in ("auc", "scored"))
    mem = f"client {client_peak:,.0f}; workers " + ", ".join(f"{w:,.0f}" for w in workers)
    print(f"| LocalCluster | {cluster_wall:.0f} | {stages} | {mem} | {cluster['auc']:.4f} |")
    print(f"\nCluster batch scoring: {cluster['scored']:,} applicants in {cluster['batch scoring']:.1f} s = "
          f"{cluster['scored'] / cluster['batch scoring']:,.0f} rows/s ({args.parts} files, child tables included)")
    others_left = others[args.workers:]
    if others_left:
        print(f"(other processes of the cluster tree: {', '.join(f'{m:,.0f}' for m in others_left)} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
