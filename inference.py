"""Score the applicants of a file (CSV, .csv.gz or Parquet) with the trained model.

The input is application-like rows (Home Credit columns; child tables read from --data-dir) or an
already-engineered features file; any other table (e.g. bureau.csv) is refused. Without --input,
datasets/application_test.csv is scored with the child tables of datasets/. The output has
SK_ID_CURR (or `line` for a features file without ids), score, prediction (1 = high risk), label
and review (1 = grey zone: to be studied by a person). Rows that cannot be scored are listed, with
their line and the reason, in <output stem>.errors.csv (scores.csv -> scores.errors.csv) and on
stderr.

exit codes: 0 every row scored, 1 some rows could not be scored, 2 unusable input or model.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from scoring import config
from scoring.artifacts import ArtifactError
from scoring.cli import add_logging_options, plain_warnings, setup_logging
from scoring.data import DataError
from scoring.schema import APPLICATION_TEST
from serving.backends import BATCH_RUN_ROW_BACKEND
from serving.batch import DEFAULT_CHUNK_SIZE, BatchInputError, score_file
from serving.predictor import Predictor

SHOWN_ERRORS = 10


def _default_input(data_dir: Path | None) -> tuple[Path, Path] | None:
    """The seed's command scores application_test.csv of --data-dir (default datasets/) with the child
    tables beside it."""
    folder = data_dir or config.DATASETS_DIR
    path = folder / f"{APPLICATION_TEST}.csv"
    return (path, folder) if path.is_file() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, default=None,
                        help="applicants or features (.csv, .csv.gz, .parquet); default: datasets/application_test.csv")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder of the child tables (bureau.csv, ...) for application-like input")
    parser.add_argument("--model-dir", type=Path, default=None, help="model artifacts (default: MODEL_DIR or models/)")
    parser.add_argument("--output", type=Path, default=None,
                        help="where the scores go (default: <input name>_scores.csv in the current folder)")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE,
                        help="rows read and scored at a time; bounds memory (default: %(default)s; application rows: "
                             "fewer when their child rows would pass a budget of memory)")
    parser.add_argument("--cluster", default=None, metavar="SPEC",
                        help="score on Dask ('local', 'local:2x3GB' or tcp://HOST:8786): --input is then a folder "
                             "or glob of files, --output a folder of parts, --data-dir a partitioned dataset")
    add_logging_options(parser, quiet_help="warnings and errors only, no progress bar")
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet)
    if args.chunk_size < 1:
        parser.error("--chunk-size must be at least 1")
    if args.input is None:
        default = _default_input(args.data_dir)
        if default is None:
            expected = (args.data_dir or config.DATASETS_DIR) / f"{APPLICATION_TEST}.csv"
            print(f"inference.py: error: no --input given and {expected} "
                  "does not exist. Pass the file to score, e.g.\n"
                  "  python inference.py --input application_test.csv --data-dir DIR_OF_CHILD_TABLES\n"
                  "  python inference.py --input features.csv", file=sys.stderr)
            return 2
        args.input, args.data_dir = default[0], args.data_dir or default[1]
    plain_warnings("inference.py")
    if args.cluster:
        return _main_cluster(args)
    output = args.output or Path(f"{args.input.name.split('.')[0]}_scores.csv")
    start = time.perf_counter()
    try:
        predictor = Predictor.from_dir(args.model_dir or config.model_dir(), row_backend=BATCH_RUN_ROW_BACKEND)
        report = score_file(args.input, output, predictor=predictor, data_dir=args.data_dir,
                            chunk_size=args.chunk_size, progress=not args.quiet)
    except (ArtifactError, BatchInputError, DataError, OSError) as exc:
        print(f"inference.py: error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    print(f"{report.scored} of {report.rows} applicants scored ({report.kind} input), "
          f"{report.high_risk} high risk, {report.review} to review -> {report.output} "
          f"({elapsed:.1f} s, {report.rows / max(elapsed, 1e-9):,.0f} rows/s)")
    if report.errors:
        print(f"{len(report.errors)} rows could not be scored (all listed in {report.errors_path}):", file=sys.stderr)
        for err in report.errors[:SHOWN_ERRORS]:
            print(f"  line {err.line} ({err.applicant or 'no id'}): {err.reason}", file=sys.stderr)
        if len(report.errors) > SHOWN_ERRORS:
            print(f"  ... and {len(report.errors) - SHOWN_ERRORS} more", file=sys.stderr)
        return 1
    return 0


def _main_cluster(args: argparse.Namespace) -> int:
    from cluster import ClusterError
    from cluster.batch import score_on_cluster

    output = args.output or Path(f"{Path(str(args.input).rstrip('/*')).name.split('.')[0]}_scores")
    try:
        report = score_on_cluster(args.input, output, cluster=args.cluster,
                                  model_dir=args.model_dir or config.model_dir(), data_dir=args.data_dir,
                                  chunk_size=args.chunk_size, progress=not args.quiet)
    except (ArtifactError, BatchInputError, DataError, OSError, ClusterError, ValueError) as exc:
        print(f"inference.py: error: {exc}", file=sys.stderr)
        return 2
    print(f"{report.scored} of {report.rows} applicants scored from {report.files} files, "
          f"{report.high_risk} high risk -> {report.output_dir}/part-*.csv")
    if report.errors:
        print(f"{len(report.errors)} rows could not be scored (all listed in {report.errors_path}):", file=sys.stderr)
        for name, line, sid, reason in report.errors[:SHOWN_ERRORS]:
            print(f"  {name} line {line} ({sid or 'no id'}): {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
