"""`python -m scoring.synthetic`: write the twin's seven tables as Kaggle-named CSV files."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from scoring import config
from scoring.cli import add_logging_options, setup_logging
from scoring.schema import APPLICATION_TEST, TARGET_COLUMN
from scoring.synthetic.twin import generate, write_tables
from scoring.tables import table_file_name

log = logging.getLogger(__name__)

DEFAULT_TEST_APPLICANTS = 200


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scoring.synthetic",
        description="Write the synthetic twin of the seven Home Credit tables as Kaggle-named CSV files.",
    )
    parser.add_argument("--out", required=True, type=Path, help="folder to write the CSV files into")
    parser.add_argument(
        "--applicants", type=int, default=config.DEFAULT_SYNTHETIC_APPLICANTS,
        help="training applicants (application_train.csv rows; default %(default)s; the Kaggle size is 307511)",
    )
    parser.add_argument("--seed", type=int, default=config.DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument(
        "--test-applicants", type=int, default=DEFAULT_TEST_APPLICANTS,
        help="rows of application_test.csv, without TARGET (default %(default)s; 0 = no test file)",
    )
    add_logging_options(parser, quiet_help="warnings and errors only, no progress bars")
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet)
    if args.applicants < 1 or args.test_applicants < 0:
        parser.error("--applicants must be at least 1 and --test-applicants 0 or more")
    start = time.perf_counter()
    data = generate(args.applicants, args.seed, progress=not args.quiet, test_applicants=args.test_applicants)
    try:
        paths = write_tables(data.tables, args.out, progress=not args.quiet)
        if data.test_application is not None:
            path = args.out / table_file_name(APPLICATION_TEST)
            data.test_application.to_csv(path, index=False)
            paths.append(path)
    except OSError as exc:
        log.error("error: cannot write into %s: %s", args.out, exc)
        return 2
    app = data.tables.application
    print(
        f"synthetic twin (seed {args.seed}): {len(app)} applicants, default rate {app[TARGET_COLUMN].mean():.1%}, "
        f"written in {time.perf_counter() - start:.1f} s"
    )
    for path in paths:
        print(f"  {path}  ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
