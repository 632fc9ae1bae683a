"""Each door's input check alone, in process: µs per call, optionally against an older checkout.

usage: python benchmarks/bench_rules.py [--against DIR] [--rounds N] [--model-dir DIR]

The doors on the committed model and a valid applicant of the 11 form features: the API's
`Validator.parse` of a valid body (the hot path) and of a refused one, `predict_credit_score`'s
argument check, the form's `to_features` (French text), the dossier what-if's `WhatIfRules.parse`
and the batch's `Validator.violations` over 1,000 rows. With `--against DIR` (a checkout of an
earlier commit, e.g. `git worktree add /tmp/before 76809d8`), the same measurements run in turns in
that tree and in this one (separate processes), and the table gives the best of the rounds of each
and their ratio: same machine, same minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPLICANT = (0.45, 0.6, 0.55, 1, 0, 2.0, 1, 0, 1, 1, 0.0)  # the 11 form features, schema order
FORM = ("0,45", "0,6", "0,55", "Supérieur", "2", True, "Homme", True, "0")


def measure(model_dir: Path) -> dict[str, float]:
    """µs per call of each door's check (best of 5 repeats), with the project in `sys.path[0]`."""
    import pandas as pd

    # Imported here: the tree measured is the one put first on sys.path by the caller (`_in`).
    from api.form_parts import to_features
    from api.scoring_service import load_predictor, validator_for
    from scoring.schema import UI_FEATURE_NAMES
    from serving.whatif import WhatIfRules

    predictor, why = load_predictor(model_dir)
    if predictor is None:
        raise SystemExit(f"no model: {why}")
    validator = validator_for(predictor)
    valid = dict(zip(UI_FEATURE_NAMES, APPLICANT, strict=True))
    body, refused = json.dumps(valid).encode(), json.dumps(valid | {UI_FEATURE_NAMES[0]: 1.5}).encode()
    check = validator.scalar_checker([(f"a{i}", n) for i, n in enumerate(UI_FEATURE_NAMES)])
    what_if = WhatIfRules(validator)
    frame = pd.DataFrame([valid] * 1000)

    def parse_refused() -> None:
        with contextlib.suppress(ValueError):
            validator.parse(refused)

    doors = [("API `Validator.parse`, valid body", lambda: validator.parse(body), 20_000),
             ("API `Validator.parse`, refused body", parse_refused, 2_000),
             ("`predict_credit_score` argument check", lambda: check(APPLICANT), 20_000),
             ("form `to_features` (French text)", lambda: to_features(FORM, validator.bounds), 5_000),
             ("what-if `WhatIfRules.parse`", lambda: what_if.parse({"SK_ID_CURR": 100002, **valid}), 5_000),
             ("batch `Validator.violations`, 1,000 rows", lambda: validator.violations(frame), 20)]
    return {name: min(timeit.repeat(fn, number=n, repeat=5)) / n * 1e6 for name, fn, n in doors}


def _in(tree: Path, model_dir: Path) -> dict[str, float]:
    code = (f"import sys, json; sys.path.insert(0, {str(tree)!r}); sys.path.insert(1, {str(ROOT / 'benchmarks')!r}); "
            f"from bench_rules import measure; from pathlib import Path; "
            f"print(json.dumps(measure(Path({str(model_dir)!r}))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="an older checkout to measure in turns with this one")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each tree (default 3)")
    parser.add_argument("--quick", action="store_true", help="one round (benchmarks/run.py --quick)")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models", help="model artifacts (default models/)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds = 1
    model_dir = args.model_dir.resolve()
    trees = [ROOT] if args.against is None else [args.against.resolve(), ROOT]
    best: list[dict[str, float]] = [{} for _ in trees]
    for _ in range(args.rounds):
        for k, tree in enumerate(trees):
            for name, us in _in(tree, model_dir).items():
                best[k][name] = min(us, best[k].get(name, us))
    if args.against is None:
        print("| door's check | µs per call (best) |\n|---|---:|")
        print("\n".join(f"| {name} | {us:,.2f} |" for name, us in best[0].items()))
        return
    print(f"| door's check | {args.against.name}: µs | this tree: µs | this / that |\n|---|---:|---:|---:|")
    print("\n".join(f"| {name} | {before:,.2f} | {best[1][name]:,.2f} | {best[1][name] / before:.2f} |"
                    for name, before in best[0].items()))


if __name__ == "__main__":
    main()
