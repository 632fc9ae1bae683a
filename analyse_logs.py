"""Report on the prediction log: statistics, data drift against the training reference, alerts.

usage: python analyse_logs.py [--log PATH [PATH|GLOB ...]] [--model-dir DIR] [--json OUT] [--html OUT]
                              [--since T] [--until T] [--outcomes CSV] [thresholds]
Exit code: 0 no alert, 1 alerts, 2 usage or I/O error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from monitoring.alerts import AlertConfig
from monitoring.backtest import BacktestConfig
from monitoring.context import ContextError
from monitoring.drift import DriftConfig
from monitoring.outcomes import OutcomeConfig
from monitoring.report import analyse, parse_moment, render_text, to_json
from monitoring.sources import LogReadError, expand
from scoring import config
from scoring.cli import add_logging_options, setup_logging

logger = logging.getLogger("analyse_logs")


def _moment(text: str):
    try:
        return parse_moment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    a, d, o, b = AlertConfig(), DriftConfig(), OutcomeConfig(), BacktestConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Exit code: 0 no alert, 1 alerts, 2 usage or I/O error.")
    parser.add_argument("--log", nargs="+", metavar="PATH", help="prediction log(s) (default: LOG_PATH or "
                        "logs/predictions.log); several paths or a quoted glob ('logs/*.log', one log per "
                        "replica) are merged in time order; rotated files LOG.1, LOG.2, ... are read too")
    parser.add_argument("--model-dir", type=Path, help="folder with reference.json and threshold.json "
                                                       "(default: MODEL_DIR or models/)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the report as JSON")
    parser.add_argument("--html", type=Path, metavar="OUT", help="write a self-contained HTML report with plots")
    parser.add_argument("--since", type=_moment, help="only calls at or after T (ISO 8601, or a duration back "
                                                      "from now: 2h, 30min)")
    parser.add_argument("--until", type=_moment, help="only calls before T (same forms)")
    parser.add_argument("--outcomes", type=Path, metavar="CSV", help="outcomes (SK_ID_CURR, defaulted, date) joined to "
                        "the logged decisions by applicant_id: realised AUC, default rate by decision, calibration")
    add_logging_options(parser, quiet_help="print nothing but errors")
    t = parser.add_argument_group("thresholds")
    t.add_argument("--slow-call", type=float, default=a.slow_call_s, help=f"seconds (default {a.slow_call_s})")
    t.add_argument("--window", default=a.window, help=f"time bucket of the sustained checks (default {a.window})")
    t.add_argument("--latency-rise", type=float, default=a.latency_rise,
                   help=f"bucket median over this many times the usual median (default {a.latency_rise:g})")
    t.add_argument("--cpu-max", type=float, default=a.cpu_max, help=f"percent (default {a.cpu_max:g})")
    t.add_argument("--memory-max", type=float, default=a.memory_max_mb, help=f"MB (default {a.memory_max_mb:g})")
    t.add_argument("--error-rate-max", type=float, default=a.error_rate_max,
                   help=f"share of failed calls (default {a.error_rate_max:g})")
    t.add_argument("--high-risk-shift", type=float, default=a.high_risk_shift,
                   help=f"change of the high-risk share against the reference (default {a.high_risk_shift:g})")
    t.add_argument("--override-rate-max", type=float, default=a.override_rate_max,
                   help=f"share of adviser decisions overriding the model (default {a.override_rate_max:g}) ...")
    t.add_argument("--min-decisions", type=int, default=a.min_decisions,
                   help=f"... judged over at least this many decisions (default {a.min_decisions})")
    t.add_argument("--challenger-disagreement-max", type=float, default=a.challenger_disagreement_max,
                   help=f"share of shadowed calls the challenger decides otherwise (default "
                        f"{a.challenger_disagreement_max:g}) ...")
    t.add_argument("--min-shadowed", type=int, default=a.min_shadowed,
                   help=f"... judged over at least this many calls (default {a.min_shadowed})")
    t.add_argument("--out-of-range-max", type=float, default=a.out_of_range_share_max,
                   help=f"share of scored calls with a value past the training range (default "
                        f"{a.out_of_range_share_max:g}) ...")
    t.add_argument("--min-scored", type=int, default=a.min_scored,
                   help=f"... judged over at least this many scored calls (default {a.min_scored})")
    t.add_argument("--psi-watch", type=float, default=d.psi_watch, help=f"default {d.psi_watch:g}")
    t.add_argument("--psi-drift", type=float, default=d.psi_drift, help=f"default {d.psi_drift:g}")
    t.add_argument("--min-samples", type=int, default=d.min_samples,
                   help=f"fewer live values: drift 'insufficient' (default {d.min_samples})")
    t.add_argument("--min-outcomes", type=int, default=o.min_outcomes,
                   help=f"fewer joined outcomes: no realised figures (default {o.min_outcomes}, with at least "
                        f"{o.min_each} defaults and {o.min_each} repaid)")
    t.add_argument("--auc-drop", type=float, default=o.auc_drop,
                   help=f"alert when the realised AUC is this far below training (default {o.auc_drop:g})")
    t.add_argument("--stability-window", default=b.window,
                   help=f"time window of the score PSI, characteristic CSI and grade shares: a pandas offset, 1D "
                        f"daily, 7D weekly (default {b.window})")
    t.add_argument("--backtest-alpha", type=float, default=b.alpha,
                   help=f"false-alarm rate of the back-test over all grades (Bonferroni: each grade at alpha / "
                        f"grades) and of the test 'the AUC fell' (default {b.alpha:g})")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet, also=("analyse_logs",))
    import pandas as pd

    try:
        pd.tseries.frequencies.to_offset(args.window)
    except ValueError:
        parser.error(f"--window {args.window!r}: expected a pandas offset such as 5min, 15min, 1h")
    if not 0 < args.psi_watch < args.psi_drift:
        parser.error(f"expected 0 < --psi-watch < --psi-drift, got {args.psi_watch} and {args.psi_drift}")
    if not 0 <= args.override_rate_max < 1 or args.min_decisions < 1:
        parser.error("expected 0 <= --override-rate-max < 1 and --min-decisions >= 1")
    if not 0 <= args.challenger_disagreement_max < 1 or args.min_shadowed < 1:
        parser.error("expected 0 <= --challenger-disagreement-max < 1 and --min-shadowed >= 1")
    if not 0 <= args.out_of_range_max < 1 or args.min_scored < 1:
        parser.error("expected 0 <= --out-of-range-max < 1 and --min-scored >= 1")
    if args.min_samples < 1 or args.slow_call <= 0 or args.min_outcomes < 1:
        parser.error("--min-samples, --min-outcomes and --slow-call must be positive")
    alert_config = AlertConfig(slow_call_s=args.slow_call, window=args.window, latency_rise=args.latency_rise,
                               cpu_max=args.cpu_max, memory_max_mb=args.memory_max,
                               error_rate_max=args.error_rate_max, high_risk_shift=args.high_risk_shift,
                               override_rate_max=args.override_rate_max, min_decisions=args.min_decisions,
                               challenger_disagreement_max=args.challenger_disagreement_max,
                               min_shadowed=args.min_shadowed, out_of_range_share_max=args.out_of_range_max,
                               min_scored=args.min_scored)
    drift_config = DriftConfig(psi_watch=args.psi_watch, psi_drift=args.psi_drift, min_samples=args.min_samples)
    outcome_config = OutcomeConfig(min_outcomes=args.min_outcomes, auc_drop=args.auc_drop)
    try:
        pd.tseries.frequencies.to_offset(args.stability_window)
    except ValueError:
        parser.error(f"--stability-window {args.stability_window!r}: expected a pandas offset such as 1D, 7D")
    if not 0 < args.backtest_alpha < 1:
        parser.error("--backtest-alpha must be between 0 and 1")
    backtest_config = BacktestConfig(window=args.stability_window, alpha=args.backtest_alpha)
    log = args.log or [config.log_path()]
    try:
        size_mb = sum(p.stat().st_size for p in expand(log)) / 1e6
        if size_mb > 50:
            logger.info("reading %.0f MB of log ...", size_mb)
        report, data, context = analyse(log, args.model_dir or config.model_dir(), args.since, args.until,
                                        drift_config, alert_config, args.outcomes, outcome_config, backtest_config)
        if args.json:
            args.json.write_text(to_json(report), encoding="utf-8")
        if args.html:
            from monitoring.html import render_html  # matplotlib: imported only when a page is asked for

            args.html.write_text(render_html(report, data.frame, context.reference, args.window), encoding="utf-8")
    except (LogReadError, ContextError, OSError) as exc:
        logger.error("%s", exc)
        return 2
    if not args.quiet:
        print(render_text(report), end="")
    return 1 if report["alerts"] else 0


if __name__ == "__main__":
    sys.exit(main())
