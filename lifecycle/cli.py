"""What `promote.py` runs once its arguments are parsed: one lifecycle command, its text and its exit code."""

from __future__ import annotations

import argparse
import json
import logging

from lifecycle.holdout import load_holdout
from lifecycle.promotion import LifecycleError, Places, promote, rollback_champion, set_challenger
from lifecycle.render import render
from scoring import config
from scoring.artifacts import ArtifactError
from scoring.data import DataError
from scoring.gate import GateRule
from scoring.registry import RegistryError

log = logging.getLogger(__name__)


def run(args: argparse.Namespace, rollback: bool) -> tuple[int, str]:
    """(exit code, text to print): 0 promoted or done, 1 refused, 2 error (the text says why)."""
    places = Places.default(args.model_dir, args.lifecycle_dir, use_registry=not args.no_registry)
    try:
        if rollback:
            return 0, json.dumps(rollback_champion(places=places), indent=2) + "\n"
        if args.challenger or args.clear_challenger:
            where = args.challenger_dir or config.challenger_dir(places.serving_dir)
            return 0, json.dumps(set_challenger(args.challenger, places=places, challenger_dir=where), indent=2) + "\n"
        decision = promote(args.candidate, places=places, rule=GateRule.from_file(args.rule), force=args.force,
                           reason=args.reason, dry_run=args.dry_run, n_boot=args.bootstrap,
                           holdout=lambda: load_holdout(args.holdout, args.data_dir,
                                                        applicants=args.holdout_applicants, seed=args.holdout_seed))
    except (LifecycleError, RegistryError, ArtifactError, DataError, ValueError, OSError) as exc:
        return 2, f"error: {exc}\n"
    if args.json:
        args.json.write_text(json.dumps(decision, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return (1 if decision["outcome"] == "refused" else 0), render(decision)
