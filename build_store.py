"""Build the feature store of known applicants (one row per SK_ID_CURR) for a trained model.

From the Kaggle-named tables of --data-dir (application_train and/or application_test, and the child
tables found there), or else from the synthetic twin (by default the one the model was trained on).
The rows are the model's features computed by the same code as training; the file is replaced
atomically. The app reads it at FEATURE_STORE (default: feature_store.sqlite in the model folder).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

from scoring import config
from scoring.cli import add_logging_options, plain_warnings, setup_logging
from scoring.data import DataError
from scoring.store import FeatureStore, StoreError
from scoring.store_build import build_model_store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="folder of the tables (default: the synthetic twin)")
    parser.add_argument("--applicants", type=int, default=None,
                        help="twin size without --data-dir (default: the model's training twin, else "
                             f"{config.DEFAULT_SYNTHETIC_APPLICANTS}; 200 application_test applicants are added)")
    parser.add_argument("--seed", type=int, default=None, help="twin seed (default: the model's, else 42)")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="the model whose features and version the rows are built for (default: MODEL_DIR "
                             "or models/)")
    parser.add_argument("--out", type=Path, default=None,
                        help="the store file (default: FEATURE_STORE, else feature_store.sqlite in --model-dir)")
    add_logging_options(parser, quiet_help="warnings and errors only, no progress bars")
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet)
    plain_warnings("build_store.py")
    if args.data_dir is not None and (args.applicants is not None or args.seed is not None):
        parser.error("--applicants / --seed describe the twin: not with --data-dir")
    if args.applicants is not None and args.applicants < 1:
        parser.error("--applicants must be at least 1")
    if args.data_dir is not None and not args.data_dir.is_dir():
        parser.error(f"--data-dir {args.data_dir}: not a folder")
    model_dir = args.model_dir or config.model_dir()
    out = args.out or config.feature_store_path(model_dir)
    if out.is_dir():
        parser.error(f"{out} is a folder: give the store's file name, e.g. {out / config.FEATURE_STORE_FILE}")
    started = time.perf_counter()
    try:
        path = build_model_store(model_dir, out, data_dir=args.data_dir, applicants=args.applicants, seed=args.seed,
                                 progress=not args.quiet)
    except (StoreError, DataError, OSError, sqlite3.Error) as exc:
        print(f"build_store.py: error: {exc}", file=sys.stderr)
        return 2

    with FeatureStore.open(path) as store:
        count, version = len(store), store.model_version
    print(f"feature store: {count} applicants for model {version} written to {path} "
          f"({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
