"""Train the credit-scoring model and write its artifacts.

Uses the Kaggle Home Credit files in --data-dir when application_train is there, or a features table
with TARGET (--features FILE, or the only table in --data-dir); with no data file at all, generates
the synthetic twin (deterministic for --seed) and says so. Any other data file stops it (exit 2).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# Before xgboost loads OpenMP: idle threads sleep instead of spinning. On a shared, busy machine
# spinning threads made a 2-thread fit 5-10x slower than a 1-thread one (docs/decisions.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from cluster import ClusterError  # noqa: E402
from scoring import config  # noqa: E402
from scoring.cli import add_logging_options, setup_logging  # noqa: E402
from scoring.data import DataError  # noqa: E402
from scoring.datadir import training_source  # noqa: E402
from scoring.fairness import GENDER_PATTERN  # noqa: E402
from scoring.schema import REPORT_FILE  # noqa: E402
from scoring.training import TrainConfig, run_training  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help=f"folder of the Kaggle tables (default: {config.DATASETS_DIR})")
    parser.add_argument("--features", type=Path, metavar="FILE",
                        help="train on this features table (.csv/.parquet: model feature columns and TARGET 0/1)")
    parser.add_argument("--model-dir", type=Path, default=config.MODELS_DIR,
                        help="where the artifacts are written (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=config.DEFAULT_SEED, help="random seed (default: %(default)s)")
    parser.add_argument("--applicants", type=int, default=config.DEFAULT_SYNTHETIC_APPLICANTS,
                        help="synthetic twin size when no Kaggle files (default: %(default)s)")
    parser.add_argument("--cost-fn", type=float, default=config.DEFAULT_COST_FN,
                        help="cost of a missed default (default: %(default)s)")
    parser.add_argument("--cost-fp", type=float, default=config.DEFAULT_COST_FP,
                        help="cost of a refused good client (default: %(default)s)")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repetitions of the K-fold (default: 3 below 1,000 defaults, else 1)")
    parser.add_argument("--no-tune", action="store_true",
                        help="keep the reference hyperparameters instead of choosing among the candidates by CV")
    parser.add_argument("--no-racing", action="store_true",
                        help="fit every candidate on every fold (default: a candidate stops when the remaining folds "
                             "would very probably not make it the winner; docs/decisions.md)")
    parser.add_argument("--exclude-features", action="append", default=None, metavar="PATTERN",
                        help=f"leave out the features matching this glob (repeatable; default: {GENDER_PATTERN!r}: "
                             "gender is recorded for fairness monitoring, never a model input)")
    parser.add_argument("--include-gender", action="store_true",
                        help=f"train on every feature, gender included (the seed's model: no {GENDER_PATTERN!r} "
                             "exclusion by default)")
    parser.add_argument("--no-variant", action="store_true",
                        help="skip the variant without the gender features that the report compares")
    parser.add_argument("--no-mlflow", action="store_true",
                        help="do not record the run with MLflow (default: MLFLOW_TRACKING_URI, else mlruns/)")
    parser.add_argument("--no-store", action="store_true",
                        help="do not write the feature store of the known applicants next to the artifacts")
    parser.add_argument("--no-benchmark", action="store_true",
                        help="skip the optbinning scorecard trained beside XGBoost for the validation section")
    parser.add_argument("--cluster", default=None, metavar="SPEC",
                        help="train on Dask: 'local', 'local:2x3GB' (workers x memory) or a scheduler address "
                             "tcp://HOST:8786; --data-dir is then a partitioned dataset (python -m scoring.partition)")
    add_logging_options(parser, quiet_help="warnings and errors only, no progress output")
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet)
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    if args.applicants < 100:
        parser.error("--applicants must be at least 100")
    if args.features and args.data_dir:
        parser.error("--features and --data-dir: give one")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.cluster and args.features:
        parser.error("--cluster trains on the tables of --data-dir, not on a --features table")
    excluded = args.exclude_features if args.exclude_features is not None else \
        ([] if args.include_gender else [GENDER_PATTERN])
    cfg = TrainConfig(seed=args.seed, cost_fn=args.cost_fn, cost_fp=args.cost_fp, n_splits=args.folds,
                      n_repeats=args.repeats, tune=not args.no_tune, racing=not args.no_racing,
                      exclude_features=tuple(excluded), benchmark=not args.no_benchmark)
    source = args.features or args.data_dir or config.DATASETS_DIR
    try:
        if args.cluster:
            from cluster.training import run_cluster_training

            metrics = run_cluster_training(args.data_dir, args.model_dir, cfg, cluster=args.cluster,
                                           applicants=args.applicants, quiet=args.quiet)
        else:
            training_source(source, explicit=source is not config.DATASETS_DIR)
            metrics = run_training(source, args.model_dir, cfg, applicants=args.applicants, quiet=args.quiet,
                                   compare_variant=not args.no_variant, tracking=not args.no_mlflow,
                                   feature_store=not args.no_store)
    except (DataError, ValueError, OSError, ClusterError) as exc:
        print(f"train.py: error: {exc}", file=sys.stderr)
        return 2
    summary = {k: metrics.get(k) for k in ("auc", "cv_auc", "baseline_ext_source_logreg_cv_auc", "cv_vs_baseline",
                                           "oracle_auc", "auc_to_oracle", "threshold", "grey_zone",
                                           "business_cost_per_applicant", "recall", "precision", "warnings",
                                           "mlflow", "total_seconds")}
    if "intervals" in metrics:  # the single-process audit (the cluster path has none)
        summary["intervals"] = {k: metrics["intervals"][k] for k in ("auc", "business_cost_per_applicant", "recall")}
    print(json.dumps({k: v for k, v in summary.items() if v is not None}, indent=2))
    report = f" and {REPORT_FILE}" if (Path(args.model_dir) / REPORT_FILE).is_file() else ""
    print(f"artifacts{report} written to {args.model_dir}", file=sys.stderr)  # stdout: the JSON summary only
    return 0


if __name__ == "__main__":
    sys.exit(main())
