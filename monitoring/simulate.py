"""Command line of the traffic simulator: realistic prediction traffic, written as log records
(monitoring.traffic) or sent to a running app (monitoring.api_traffic), with scripted incidents.
Applicants are drawn like the training population of `reference.json` (monitoring.applicants).

usage: python -m monitoring.simulate --log PATH --n N [--seed S] [incident options]
       python -m monitoring.simulate --url http://127.0.0.1:7860 --n N [--max-seconds T]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from monitoring.api_traffic import MAX_API_REQUESTS, send_to_api
from monitoring.context import ContextError, load_context
from monitoring.traffic import (
    DEFAULT_THRESHOLD,
    Incidents,
    generate,
    outcomes_for,
    resolve_position,
    timestamps,
    write_log,
)
from scoring import config
from scoring.cli import add_logging_options, setup_logging
from scoring.schema import UI_FEATURE_NAMES
from scoring.synthetic import FIRST_ID_CURR

log = logging.getLogger(__name__)


def _drift_spec(text: str) -> tuple[str, float]:
    name, _, amount = text.rpartition("=")
    if not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected FEATURE=SHIFT, e.g. EXT_SOURCE_2=-1.0")
    if name not in UI_FEATURE_NAMES:
        raise argparse.ArgumentTypeError(f"{name!r} is not one of the UI features: {', '.join(UI_FEATURE_NAMES)}")
    try:
        return name, float(amount)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: SHIFT must be a number") from None


def _grade_spec(text: str) -> tuple[str, float]:
    grade, _, factor = text.partition("=")
    try:
        value = float(factor)
    except ValueError:
        value = -1.0
    if len(grade) != 1 or not grade.isupper() or not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected GRADE=FACTOR such as E=2, got {text!r}")
    return grade, value


def _duration(text: str) -> timedelta:
    try:
        delta = pd.Timedelta(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a duration such as 2h, 30min, 1d") from None
    if pd.isna(delta) or delta <= pd.Timedelta(0):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive duration")
    return delta.to_pytimedelta()


def _start(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an ISO 8601 time, e.g. 2026-11-26T08:00:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m monitoring.simulate",
        description="Write realistic prediction log records (or send requests to a running app on this machine), "
                    "with optional scripted incidents. Without incident options: normal traffic only.")
    parser.add_argument("--log", type=Path, help="log file to write (default: LOG_PATH or logs/predictions.log)")
    parser.add_argument("--n", type=int, required=True,
                        help=f"number of calls (with --url: at most {MAX_API_REQUESTS})")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same traffic (0)")
    parser.add_argument("--model-dir", type=Path, help="folder with reference.json (default: MODEL_DIR or models/)")
    parser.add_argument("--overwrite", action="store_true", help="replace the log instead of appending to it")
    parser.add_argument("--start", type=_start,
                        help="start of the time span, ISO 8601, UTC when no offset (default: now minus --span)")
    parser.add_argument("--span", type=_duration, default=timedelta(hours=2), help="time the calls spread over (2h)")
    group = parser.add_argument_group("incidents (positions: record index, fraction like 0.5, or ISO time)")
    group.add_argument("--drift", type=_drift_spec, action="append", default=[], metavar="FEATURE=SHIFT",
                       help="shift a feature: continuous by SHIFT standard deviations, binary by SHIFT on the share "
                            "of ones (repeatable)")
    group.add_argument("--drift-from", default="0", help="where the drift starts (default: from the first call)")
    group.add_argument("--slow-calls", type=int, default=0, help="number of calls slower than 0.5 s")
    group.add_argument("--burst-size", type=int, default=5, help="slow calls come in bursts of this many (5)")
    group.add_argument("--latency-factor", type=float, default=1.0, help="slow every call down by this factor ...")
    group.add_argument("--latency-from", default="0", help="... from this position")
    group.add_argument("--cpu-spikes", type=int, default=0, help="number of CPU spikes (92-100 %%)")
    group.add_argument("--memory-spikes", type=int, default=0, help="number of memory spikes (+1.2-1.6 GB)")
    group.add_argument("--spike-length", type=int, default=10, help="calls per CPU/memory spike (10)")
    group.add_argument("--error-rate", type=float, default=0.0, help="share of bad requests (status error) ...")
    group.add_argument("--errors-from", default="0", help="... from this position")
    outcomes = parser.add_argument_group("outcomes (log mode)")
    outcomes.add_argument("--outcomes", type=Path, metavar="CSV",
                          help="also write the outcomes (SK_ID_CURR, defaulted, date a year later) of the scored "
                               "calls, logged as dossier look-ups of the twin's applicants; each defaults with the "
                               "probability its score says")
    outcomes.add_argument("--default-factor", type=float, default=1.0,
                          help="outcomes: default probability = score times this (1: calibrated scores)")
    outcomes.add_argument("--grade-factor", type=_grade_spec, action="append", default=[], metavar="GRADE=FACTOR",
                          help="outcomes: the applicants of this master-scale grade default FACTOR times as often "
                               "(e.g. E=2: a miscalibrated grade); repeatable")
    api = parser.add_argument_group("API mode (instead of writing the log)")
    api.add_argument("--url", help="send requests to this running app, loopback only (http://127.0.0.1:7860)")
    api.add_argument("--max-seconds", type=float, default=60.0, help="stop sending after this long (60)")
    api.add_argument("--rate", type=float, help="requests per second (default: as fast as answered)")
    add_logging_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet)
    if args.n < 0:
        parser.error("--n must be >= 0")
    if not 0.0 <= args.error_rate <= 1.0:
        parser.error("--error-rate must be in [0, 1]")
    if not 0.0 <= args.default_factor <= 100.0:
        parser.error("--default-factor must be in [0, 100]")
    if args.grade_factor and not args.outcomes:
        parser.error("--grade-factor changes the simulated outcomes: give --outcomes too")
    if args.outcomes and args.url:
        parser.error("--outcomes writes the outcomes of simulated log records: not available with --url")
    model_dir = args.model_dir or config.model_dir()
    try:
        context = load_context(model_dir)
    except ContextError as exc:
        log.error("%s", exc)
        return 2
    drift = dict(args.drift)
    letters = [g["grade"] for g in (context.master_scale or {}).get("grades", [])]
    unknown = [g for g, _ in args.grade_factor if g not in letters]
    if unknown:
        log.error("--grade-factor %s: the model's master scale has grades %s", ", ".join(unknown),
                  ", ".join(letters) or "none (threshold.json has no master_scale)")
        return 2
    if args.url:
        if args.slow_calls or args.cpu_spikes or args.memory_spikes or args.latency_factor != 1.0:
            parser.error("slow calls, latency and CPU/memory spikes happen in the server: not available with --url")
        try:
            summary = send_to_api(args.url, context.reference, args.n, seed=args.seed, drift=drift,
                                  error_rate=args.error_rate, max_seconds=args.max_seconds, rate=args.rate)
        except ValueError as exc:
            log.error("%s", exc)
            return 2
        print(json.dumps(summary))
        return 0 if summary["failed"] == 0 else 1
    threshold = context.threshold if context.threshold is not None else DEFAULT_THRESHOLD
    if context.threshold is None:
        log.warning("no threshold.json in %s, labelling with threshold %s", model_dir, DEFAULT_THRESHOLD)
    log_file = args.log or config.log_path()
    start = args.start or (datetime.now(UTC) - args.span)
    times = timestamps(args.n, start, args.span, np.random.default_rng(args.seed))
    try:
        incidents = Incidents(drift=drift, drift_from=resolve_position(args.drift_from, times),
                              slow_calls=args.slow_calls, burst_size=args.burst_size,
                              latency_factor=args.latency_factor,
                              latency_from=resolve_position(args.latency_from, times), cpu_spikes=args.cpu_spikes,
                              memory_spikes=args.memory_spikes, spike_length=args.spike_length,
                              error_rate=args.error_rate, errors_from=resolve_position(args.errors_from, times))
        traffic = generate(context.reference, args.n, seed=args.seed, threshold=threshold, incidents=incidents,
                           start=start, span=args.span, model_version=context.model_version or "simulated",
                           first_applicant_id=FIRST_ID_CURR if args.outcomes else None)
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    try:
        write_log(log_file, traffic.records, append=not args.overwrite)
        if args.outcomes:
            args.outcomes.parent.mkdir(parents=True, exist_ok=True)
            scale = context.master_scale or {}
            outcomes_for(traffic.records, args.seed, args.default_factor, grade_factors=dict(args.grade_factor),
                         grade_edges=scale.get("edges")).to_csv(args.outcomes, index=False)
    except OSError as exc:
        log.error("cannot write %s: %s", exc.filename or log_file, exc.strerror or exc)
        return 2
    print(f"wrote {len(traffic.records)} records to {log_file} ({times[0] if len(times) else '-'} → "
          f"{times[-1] if len(times) else '-'}): {len(traffic.slow_rows)} slow calls, "
          f"{len(traffic.cpu_rows)} calls in CPU spikes, {len(traffic.memory_rows)} in memory spikes, "
          f"{len(traffic.error_rows)} bad requests" + (f", drift of {', '.join(drift)} from record "
                                                       f"{incidents.drift_from}" if drift else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
