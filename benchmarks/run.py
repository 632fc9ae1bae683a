"""Run every benchmark (`benchmarks/bench_*.py`) and print their markdown tables.

usage: python benchmarks/run.py [--quick] [--only NAME]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Profiling tools named like benchmarks that print no same-run table: run them by hand (their usage line).
NOT_A_TABLE = ("bench_train_stages.py",  # wraps `python train.py` with stage timers (bench_goals times train.py)
               "bench_features.py")  # compares with another checkout (`--against DIR`): run it by hand


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", help="run only benchmarks whose file name contains this")
    args = parser.parse_args(argv)
    scripts = sorted(p for p in HERE.glob("bench_*.py")
                     if p.name not in NOT_A_TABLE and (not args.only or args.only in p.name))
    failed = 0
    for script in scripts:
        print(f"\n## {script.stem}\n", flush=True)
        rc = subprocess.call([sys.executable, str(script), *(["--quick"] if args.quick else [])], cwd=HERE.parent)
        failed += rc != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
