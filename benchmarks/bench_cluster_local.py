"""`score_on_cluster` on local clusters of different shapes against the single process, same applicants.

usage: python benchmarks/bench_cluster_local.py [--applicants 50000] [--shapes thr1x2,proc2x1,thr1x1]

The twin is written partitioned (`python -m scoring.partition`, 4 parts) and flat; the single process
is `inference.py` on the flat tables (end to end), each shape a `LocalCluster` started here (start-up
counted) running the same `score_on_cluster` call. Shapes: thrWxT = W in-process workers of T threads
(what `--cluster local` runs for batch scoring since issue 21), procWxT = W worker processes of T
threads (what it ran before). The shapes are timed inside this process, after its imports; the single
process includes its interpreter start-up (`bench_goals.py` times both as commands). Run it under
`flock /tmp/heavy.lock`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _shape(name: str) -> dict:
    workers, threads = (int(v) for v in name[4 if name.startswith("proc") else 3:].split("x"))
    return {"n_workers": workers, "threads_per_worker": threads, "processes": name.startswith("proc")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applicants", type=int, default=50_000)
    parser.add_argument("--shapes", default="thr1x2,proc2x1,thr1x1")
    parser.add_argument("--quick", action="store_true", help="5,000 applicants (benchmarks/run.py --quick)")
    args = parser.parse_args(argv)
    if args.quick:
        args.applicants = min(args.applicants, 5_000)
    import dask
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq
    from distributed import LocalCluster

    from cluster.batch import score_on_cluster
    from scoring import config

    with tempfile.TemporaryDirectory(prefix="bench_cluster_local_") as tmp:
        layout, flat = Path(tmp) / "layout", Path(tmp) / "flat"
        subprocess.run([sys.executable, "-m", "scoring.partition", "--out", str(layout), "--applicants",
                        str(args.applicants), "--seed", "3", "--parts", "4", "--quiet"], cwd=ROOT, check=True)
        flat.mkdir()
        for table in sorted({p.name for p in layout.glob("part-*/*.parquet")}):
            pq.write_table(ds.dataset(sorted(layout.glob(f"part-*/{table}"))).to_table(), flat / table)
        started = time.perf_counter()
        subprocess.run([sys.executable, "inference.py", "--input", str(flat / "application_train.parquet"),
                        "--data-dir", str(flat), "--output", str(Path(tmp) / "single.csv"), "--quiet"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        single = time.perf_counter() - started
        print(f"| shape | seconds | start-up | ratio to the single process ({single:.1f} s) |\n|---|---:|---:|---:|")
        for name in args.shapes.split(","):
            started = time.perf_counter()
            with dask.config.set({"distributed.scheduler.work-stealing": False}):
                local = LocalCluster(dashboard_address=":0", **_shape(name))
            up = time.perf_counter() - started
            with local:
                score_on_cluster(f"{layout}/part-*/application_train.parquet", Path(tmp) / f"out_{name}",
                                 cluster=local.scheduler_address, model_dir=config.MODELS_DIR, data_dir=layout,
                                 progress=False)
            seconds = time.perf_counter() - started
            print(f"| {name} | {seconds:.1f} | {up:.1f} | {single / seconds:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
