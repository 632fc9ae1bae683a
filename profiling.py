"""Profile the paths a user waits on with cProfile; write .prof files that snakeviz opens.

  predict  N calls of app_gradio.predict_credit_score (distinct applicants)
  api      N POST /api/predict through the app's ASGI interface, in process, reasons and log on
  batch    inference's scoring (serving.batch.score_file) of a generated features CSV of R rows

Writes <out-dir>/profile_<name>.prof (default logs/) and prints the top functions by cumulative
time. Open one with: snakeviz logs/profile_predict.prof
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from api.profiling import TARGETS, run_profiles
from scoring import config
from scoring.artifacts import ArtifactError
from scoring.cli import add_logging_options, setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000,
                        help="calls profiled for predict and api (default: %(default)s)")
    parser.add_argument("--batch-rows", type=int, default=20_000,
                        help="rows of the generated features file for batch (default: %(default)s)")
    parser.add_argument("--only", choices=TARGETS, action="append",
                        help="profile only this path (repeatable; default: all)")
    parser.add_argument("--out-dir", type=Path, default=config.LOGS_DIR, help="where .prof files go (default: logs/)")
    parser.add_argument("--model-dir", type=Path, default=None, help="model artifacts (default: MODEL_DIR or models/)")
    parser.add_argument("--top", type=int, default=15, help="functions printed per profile (default: %(default)s)")
    add_logging_options(parser)
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet)
    if args.n < 1 or args.batch_rows < 1 or args.top < 1:
        parser.error("--n, --batch-rows and --top must be at least 1")
    try:
        profiles = run_profiles(args.model_dir or config.model_dir(), args.out_dir, n=args.n,
                                batch_rows=args.batch_rows, targets=tuple(args.only or TARGETS))
    except (ArtifactError, RuntimeError, OSError) as exc:
        print(f"profiling.py: error: {exc}", file=sys.stderr)
        return 2
    for p in profiles:
        print(f"\n### {p.name}: {p.calls:,} {p.unit} in {p.seconds:.2f} s "
              f"({p.seconds / p.calls * 1e6:,.1f} µs each, under cProfile) -> {p.path}\n")
        print(p.top(args.top))
    print("open one with: snakeviz " + str(profiles[0].path) if profiles else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
