"""A stand-in model folder (reference.json, threshold.json, metrics.json) for tests, benchmarks and demos.

Monitoring needs only the reference distributions and the threshold, not the model. This builds them
from applicants of the synthetic twin (`scoring.synthetic`, the project's one generator of applicants),
their 11 form features computed by the feature pipeline and their known default probability as the
score, so that the simulator, analyse_logs.py and the dashboard can be shown before a model is trained.

usage: python -m monitoring.demo --model-dir DIR [--n N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring import config
from scoring.evaluation import auc_or_nan, calibration
from scoring.features import build_features
from scoring.master_scale import build_master_scale
from scoring.reference import build_reference
from scoring.schema import (
    ID_COLUMN,
    METRICS_FILE,
    MODEL_FILE,
    REFERENCE_FILE,
    TARGET_COLUMN,
    THRESHOLD_FILE,
    UI_FEATURE_NAMES,
)
from scoring.synthetic import generate

# The cost-optimal threshold of calibrated probabilities: flag when p * cost_fn >= (1 - p) * cost_fp.
THRESHOLD = round(config.DEFAULT_COST_FP / (config.DEFAULT_COST_FP + config.DEFAULT_COST_FN), 3)


def _twin(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    twin = generate(n, seed, progress=False)
    features = build_features(twin.tables, progress=False)
    scores = twin.true_probability.reindex(features.index).to_numpy(dtype=float)
    app = twin.tables.application.set_index(ID_COLUMN)
    defaulted = app[TARGET_COLUMN].reindex(features.index).to_numpy(dtype=int)
    return features[list(UI_FEATURE_NAMES)].reset_index(drop=True), scores, defaulted


def population(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """`n` applicants of the synthetic twin: their 11 form features and their true default probability."""
    return _twin(n, seed)[:2]


def metrics_of(scores: np.ndarray, defaulted: np.ndarray, threshold: float) -> dict[str, Any]:
    """The training figures monitoring compares outcomes with, for the stand-in (its scores are the truth)."""
    flagged = scores >= threshold
    return {"auc": auc_or_nan(defaulted, scores), "recall": float(flagged[defaulted == 1].mean()),
            "precision": float(defaulted[flagged].mean()), "calibration": calibration(defaulted, scores),
            "threshold": threshold,
            "data_source": "synthetic twin, true default probabilities as scores (python -m monitoring.demo)"}


def write_model_dir(directory: Path, n: int = 5000, seed: int = 0, threshold: float | None = THRESHOLD) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    frame, scores, defaulted = _twin(n, seed)
    (directory / REFERENCE_FILE).write_text(json.dumps(build_reference(frame, scores, seed=seed)))
    if threshold is not None:
        (directory / METRICS_FILE).write_text(json.dumps(metrics_of(scores, defaulted, threshold)))
        scale = build_master_scale(defaulted, scores)  # the true probabilities: the served scores too
        scale["served_shares"] = [g["share"] for g in scale["grades"]]
        doc = {"threshold": threshold, "cost_fn": config.DEFAULT_COST_FN, "cost_fp": config.DEFAULT_COST_FP,
               "master_scale": scale}
        (directory / THRESHOLD_FILE).write_text(json.dumps(doc))
    return directory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitoring.demo",
                                     description="Write a stand-in reference.json, threshold.json and metrics.json "
                                                 "(no model) for trying the simulator, analyse_logs.py and the "
                                                 "dashboard.")
    parser.add_argument("--model-dir", type=Path, required=True, help="folder to write (not models/: keep the "
                                                                      "trained model's files apart)")
    parser.add_argument("--n", type=int, default=5000, help="synthetic applicants behind the reference (5000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if (args.model_dir / MODEL_FILE).exists():
        parser.error(f"{args.model_dir} holds a trained model: refusing to overwrite its reference.json")
    write_model_dir(args.model_dir, args.n, args.seed)
    print(f"wrote {args.model_dir / REFERENCE_FILE}, {THRESHOLD_FILE} (threshold {THRESHOLD}) and {METRICS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
