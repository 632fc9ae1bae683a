"""A stand-in model folder (reference.json + threshold.json) for tests, benchmarks and demos.

Monitoring needs only the reference distributions and the threshold, not the model. This builds them
from synthetic applicants shaped like Home Credit's (the real table's shares and ranges), so that the
simulator, analyse_logs.py and the dashboard can be shown before a model is trained.

usage: python -m monitoring.demo --model-dir DIR [--n N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from scoring import config
from scoring.reference import build_reference
from scoring.schema import (
    BUREAU_OVERDUE_MAX,
    CARD_ATM_DRAWINGS,
    DOCUMENT_3,
    EDUCATION_HIGHER,
    EDUCATION_SECONDARY,
    EXT_SOURCE_1,
    EXT_SOURCE_2,
    EXT_SOURCE_3,
    GENDER_F,
    GENDER_M,
    INCOME_WORKING,
    MODEL_FILE,
    REFERENCE_FILE,
    THRESHOLD_FILE,
)

THRESHOLD = 0.35


def population(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Applicants shaped like Home Credit's (shares and ranges of the real table) and their scores."""
    rng = np.random.default_rng(seed)
    ext1 = rng.beta(4, 4, n)
    ext1[rng.random(n) < 0.4] = np.nan  # EXT_SOURCE_1 is often missing in the real table
    ext2 = rng.beta(5, 3, n)
    ext3 = rng.beta(4.5, 3, n)
    gender = rng.choice(3, n, p=[0.66, 0.34, 0.0])
    education = rng.choice(3, n, p=[0.24, 0.71, 0.05])
    atm = np.where(rng.random(n) < 0.6, 0.0, rng.gamma(1.5, 1.2, n))
    atm[rng.random(n) < 0.5] = np.nan
    overdue = np.where(rng.random(n) < 0.96, 0.0, rng.lognormal(7, 1.5, n))
    frame = pd.DataFrame({
        EXT_SOURCE_1: ext1, EXT_SOURCE_2: ext2, EXT_SOURCE_3: ext3,
        EDUCATION_HIGHER: (education == 0).astype(float), EDUCATION_SECONDARY: (education == 1).astype(float),
        CARD_ATM_DRAWINGS: atm, INCOME_WORKING: (rng.random(n) < 0.52).astype(float),
        GENDER_F: (gender == 0).astype(float), GENDER_M: (gender == 1).astype(float),
        DOCUMENT_3: (rng.random(n) < 0.71).astype(float), BUREAU_OVERDUE_MAX: overdue,
    })
    ext_mean = np.nanmean(np.c_[ext1, ext2, ext3], axis=1)
    scores = 1 / (1 + np.exp(-(-1.5 - 6 * (ext_mean - 0.55) + rng.normal(0, 0.8, n))))
    return frame, scores


def write_model_dir(directory: Path, n: int = 5000, seed: int = 0, threshold: float | None = THRESHOLD) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    frame, scores = population(n, seed)
    (directory / REFERENCE_FILE).write_text(json.dumps(build_reference(frame, scores, seed=seed)))
    if threshold is not None:
        (directory / THRESHOLD_FILE).write_text(json.dumps(
            {"threshold": threshold, "cost_fn": config.DEFAULT_COST_FN, "cost_fp": config.DEFAULT_COST_FP}))
    return directory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitoring.demo",
                                     description="Write a stand-in reference.json + threshold.json (no model) "
                                                 "for trying the simulator, analyse_logs.py and the dashboard.")
    parser.add_argument("--model-dir", type=Path, required=True, help="folder to write (not models/: keep the "
                                                                      "trained model's files apart)")
    parser.add_argument("--n", type=int, default=5000, help="synthetic applicants behind the reference (5000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if (args.model_dir / MODEL_FILE).exists():
        parser.error(f"{args.model_dir} holds a trained model: refusing to overwrite its reference.json")
    write_model_dir(args.model_dir, args.n, args.seed)
    print(f"wrote {args.model_dir / REFERENCE_FILE} and {args.model_dir / THRESHOLD_FILE} (threshold {THRESHOLD})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
