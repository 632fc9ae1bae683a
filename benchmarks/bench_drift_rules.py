"""False alarms and detections of drift rules on simulated traffic (the measurement behind the PSI choice).

usage: python benchmarks/bench_drift_rules.py [--quick] [--seeds N]

For each seed, simulated calls are drawn like the reference population (no drift), or with one
feature shifted over the whole log. Rules compared on the same logs:

- PSI band + test (the rule in monitoring/drift.py): PSI >= 0.1 and KS / chi-square p < 0.01
- PSI band alone: PSI >= 0.1 on any feature
- test alone: p < 0.01 on any feature

A false alarm is a stable log with any feature (or the score) flagged; a detection is a shifted log
whose shifted feature is flagged. Also: mean time of one drift report.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitoring.demo import THRESHOLD, population  # noqa: E402
from monitoring.drift import STABLE, DriftConfig, drift_report  # noqa: E402
from monitoring.traffic import Incidents, generate  # noqa: E402
from scoring.reference import build_reference  # noqa: E402
from scoring.schema import DOCUMENT_3, EXT_SOURCE_3, SCORE_KEY, UI_FEATURE_NAMES  # noqa: E402

SHIFTS = {"none": {}, "EXT_SOURCE_3 -0.3 sd": {EXT_SOURCE_3: -0.3}, "EXT_SOURCE_3 -0.6 sd": {EXT_SOURCE_3: -0.6},
          "FLAG_DOCUMENT_3 -0.10": {DOCUMENT_3: -0.10}}


def columns_of(traffic) -> dict:
    import numpy as np

    cols = {name: traffic.inputs[name].to_numpy(dtype=float) for name in UI_FEATURE_NAMES}
    cols[SCORE_KEY] = np.array([r.prediction["score"] for r in traffic.records])
    return cols


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 seeds instead of 100")
    parser.add_argument("--seeds", type=int)
    parser.add_argument("--calls", type=int, nargs="+", default=[1000, 5000], help="log sizes (1000 5000)")
    args = parser.parse_args(argv)
    seeds = args.seeds or (20 if args.quick else 100)
    frame, scores = population(5000, seed=0)
    reference = build_reference(frame, scores, seed=0)
    config = DriftConfig()
    print(f"\n{seeds} seeds per cell; reference of 5000 synthetic applicants (monitoring.demo)\n")
    print("| calls | shift | PSI band + test | PSI band alone | test alone | report time (ms) |")
    print("|---:|---|---:|---:|---:|---:|")
    for n in args.calls:
        for label, shift in SHIFTS.items():
            hits = {"rule": 0, "psi": 0, "test": 0}
            spent = 0.0
            for seed in range(seeds):
                traffic = generate(reference, n, seed=10_000 + seed, threshold=THRESHOLD,
                                   incidents=Incidents(drift=shift))
                t0 = time.perf_counter()
                report = drift_report(reference, columns_of(traffic), config)
                spent += time.perf_counter() - t0
                judged = {k: v for k, v in report.items() if not shift or k in shift}
                hits["rule"] += any(v.status != STABLE for v in judged.values())
                hits["psi"] += any((v.psi or 0) >= config.psi_watch for v in judged.values())
                hits["test"] += any((v.p_value if v.p_value is not None else 1) < config.alpha
                                    for v in judged.values())
            kind = "false alarms" if not shift else "detected"
            cells = " | ".join(f"{hits[k] / seeds:.0%}" for k in ("rule", "psi", "test"))
            print(f"| {n} | {label} ({kind}) | {cells} | {1000 * spent / seeds:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
