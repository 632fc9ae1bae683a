"""Compare a candidate model with the serving champion, then promote it or refuse it; roll back; set the challenger.

usage: python promote.py CANDIDATE [--force --reason TEXT] [--rule FILE] [--holdout FILE | --data-dir DIR]
       python promote.py rollback                  (or --rollback)
       python promote.py --challenger CANDIDATE    (or --clear-challenger)
       python promote.py --check DIR               (exit 0 when DIR holds a model the gate promoted)
CANDIDATE is a registry version (a number: `train.py` registers each model) or a model folder.
Exit code: 0 promoted (or done), 1 refused, 2 usage or error. See docs/lifecycle.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from lifecycle.decision_check import NotPromoted, check_promoted  # the standard library only


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="\n".join(__doc__.splitlines()[2:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("candidate", nargs="?", help="registry version, model folder, or the word 'rollback'")
    parser.add_argument("--rollback", action="store_true", help="put back the champion the last promotion replaced")
    parser.add_argument("--challenger", metavar="CANDIDATE", help="make CANDIDATE the challenger the service "
                        "scores in the shadow (it goes to --challenger-dir)")
    parser.add_argument("--clear-challenger", action="store_true", help="remove the challenger (shadow off)")
    parser.add_argument("--check", type=Path, metavar="DIR", help="check that DIR holds a gate-promoted model")
    parser.add_argument("--force", action="store_true", help="promote even when a check fails (needs --reason)")
    parser.add_argument("--reason", default="", help="why (recorded in the decision)")
    parser.add_argument("--rule", type=Path, metavar="FILE", help="JSON of gate rule values replacing the "
                        "defaults (keys of scoring.gate.GateRule)")
    parser.add_argument("--holdout", type=Path, metavar="FILE", help="holdout features table with TARGET")
    parser.add_argument("--data-dir", type=Path, help="holdout from these Kaggle tables")
    parser.add_argument("--holdout-applicants", type=int, default=10_000,
                        help="size of the fresh synthetic twin used otherwise (default: %(default)s)")
    parser.add_argument("--holdout-seed", type=int, default=20_260, help="its seed (default: %(default)s)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates (default: %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="compare and record the decision, change nothing")
    parser.add_argument("--model-dir", type=Path, help="the serving folder (default: MODEL_DIR or models/)")
    parser.add_argument("--challenger-dir", type=Path, help="the challenger's folder (default: CHALLENGER_DIR or "
                        "<model dir>-challenger)")
    parser.add_argument("--lifecycle-dir", type=Path, help="decisions, replaced models and history "
                        "(default: LIFECYCLE_DIR or mlruns/lifecycle)")
    parser.add_argument("--no-registry", action="store_true", help="do not read or move MLflow registry aliases")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the decision as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.check is not None:  # the deploy's check: standard library only
        try:
            decision = check_promoted(args.check)
        except NotPromoted as exc:
            print(f"promote.py: {exc}", file=sys.stderr)
            return 1
        print(f"{args.check}: model {decision['candidate']['model_version']} was {decision['outcome']} by the gate "
              f"at {decision.get('decided_at', '?')}")
        return 0
    rollback = args.rollback or args.candidate == "rollback"
    chosen = [bool(args.candidate) and not rollback, rollback, bool(args.challenger), args.clear_challenger]
    if sum(chosen) != 1:
        parser.error("give one of CANDIDATE, rollback, --challenger CANDIDATE, --clear-challenger, --check DIR")
    if args.force and not args.reason.strip():
        parser.error("--force needs --reason")
    if args.holdout and args.data_dir:
        parser.error("--holdout and --data-dir: give one")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    from lifecycle.cli import run  # numpy, XGBoost, MLflow: not needed by --check above

    code, text = run(args, rollback)
    print(text, end="", file=sys.stderr if code == 2 else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
