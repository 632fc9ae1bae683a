"""The fixed cost of `build_features` per call: this tree against another checkout, on the same tables, in turns.

usage: python benchmarks/bench_features.py --against DIR [--sizes 50,1000,12500] [--rounds 7]

Each input chunk of the raw-tables path (`inference.py`, `--cluster local`) pays one `build_features`
call; its cost at a few applicants is the fixed part. The tables are a synthetic twin (the sizes' largest,
seed 3); each size takes the first applicants with their child rows (`ChildIndex`, as the batch gives
them). The two trees run in one process, their modules loaded in turn; the table gives the median of
`--rounds` calls of each, taken alternately, and checks that both give the same frame to the bit.
Run under `flock /tmp/heavy.lock`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _load(root: Path):
    """`scoring.features.build_features` of the tree at `root` (its own `scoring` modules)."""
    for name in [m for m in sys.modules if m == "scoring" or m.startswith("scoring.")]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        from scoring.features import build_features
    finally:
        sys.path.remove(str(root))
    return build_features


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, required=True, help="root of the other checkout (e.g. main)")
    parser.add_argument("--sizes", default="50,1000,12500", help="applicants per call (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    sys.path.insert(0, str(ROOT))
    from scoring import synthetic
    from scoring.child_index import ChildIndex
    from scoring.data import Tables

    tables = synthetic.generate(max(sizes), 3, progress=False).tables
    index = ChildIndex(Tables(**{**vars(tables), "application": tables.application.iloc[:0]}))
    chunks = {n: Tables.from_index(tables.application.iloc[:n].reset_index(drop=True), index) for n in sizes}
    builds = {"this tree": _load(ROOT), "against": _load(args.against.resolve())}
    print("| applicants a call | this tree ms | against ms | ratio | same frame |\n|---:|---:|---:|---:|---|")
    for n, chunk in chunks.items():
        times: dict[str, list[float]] = {name: [] for name in builds}
        frames = {name: build(chunk, progress=False) for name, build in builds.items()}  # warm-up
        for _ in range(args.rounds):
            for name, build in builds.items():
                started = time.perf_counter()
                build(chunk, progress=False)
                times[name].append(time.perf_counter() - started)
        this, other = (float(np.median(times[k])) * 1e3 for k in builds)
        a, b = frames.values()
        same = a.columns.equals(b.columns) and a.index.equals(b.index) and np.array_equal(
            a.to_numpy().view(np.int64), b.to_numpy().view(np.int64))
        print(f"| {n:,} | {this:.1f} | {other:.1f} | {this / other:.2f} | {'yes' if same else '**no**'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
