"""Candidate features proven the validator's way: each kept only when its paired CV gain has an interval above 0.

For every candidate, the model is cross-validated with and without it on the same repeated
stratified folds (`scoring.tuning.tune`, the reference hyperparameters); the fold-by-fold AUC
differences carry the Nadeau–Bengio corrected interval (`scoring.evaluation.corrected_diff`).

usage: python -m scoring.feature_trials --data-dir /work/shared/data/homecredit_5k [--repeats 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring import data, features
from scoring.evaluation import corrected_diff
from scoring.schema import EXT_SOURCE_1, EXT_SOURCE_2, EXT_SOURCE_3, TARGET_COLUMN
from scoring.training import MONOTONE_DECREASING, TrainConfig
from scoring.tuning import CANDIDATES as PARAMS
from scoring.tuning import tune

log = logging.getLogger(__name__)

_EXT = [EXT_SOURCE_1, EXT_SOURCE_2, EXT_SOURCE_3]


def _ext(frame: pd.DataFrame) -> np.ndarray:
    return frame[_EXT].to_numpy(dtype=float)


def _safe(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[pd.DataFrame], np.ndarray]:
    def compute(frame: pd.DataFrame) -> np.ndarray:
        values = _ext(frame)
        out = np.full(len(values), np.nan)
        some = ~np.isnan(values).all(axis=1)
        out[some] = fn(values[some])
        return out
    return compute


# name -> (meaning in French, computation on the engineered frame). Credit term (credit / annuity) is
# 1 / PAYMENT_RATE and employment / age is DAYS_EMPLOYED_PERC, both already features: a tree model
# splits a monotone transform of a feature exactly as the feature, so they are not tried again.
CANDIDATES: dict[str, tuple[str, Callable[[pd.DataFrame], np.ndarray]]] = {
    "EXT_SOURCES_MEAN": ("Moyenne des scores externes connus",
                         _safe(lambda v: np.nanmean(v, axis=1))),
    "EXT_SOURCES_PROD": ("Produit des trois scores externes (manquant si l'un manque)",
                         lambda f: np.prod(_ext(f), axis=1)),
    "EXT_SOURCES_MIN": ("Plus faible des scores externes connus", _safe(lambda v: np.nanmin(v, axis=1))),
    "EXT_SOURCES_MAX": ("Plus élevé des scores externes connus", _safe(lambda v: np.nanmax(v, axis=1))),
    "EXT_SOURCES_SPREAD": ("Écart entre le plus élevé et le plus faible des scores externes",
                           _safe(lambda v: np.nanmax(v, axis=1) - np.nanmin(v, axis=1))),
    "EXT_SOURCES_NAN": ("Nombre de scores externes inconnus",
                        lambda f: np.isnan(_ext(f)).sum(axis=1).astype(float)),
    "CREDIT_GOODS_DIFF": ("Crédit − prix du bien (frais financés)",
                          lambda f: (f["AMT_CREDIT"] - f["AMT_GOODS_PRICE"]).to_numpy(dtype=float)),
    "AGE_AT_CREDIT_END": ("Âge à la fin du crédit (années)",
                          lambda f: (-f["DAYS_BIRTH"] / 365.25 + f["AMT_CREDIT"] / f["AMT_ANNUITY"]).to_numpy(float)),
    "ANNUITY_PER_PERSON": ("Annuité par personne du foyer",
                           lambda f: (f["AMT_ANNUITY"] / f["CNT_FAM_MEMBERS"]).to_numpy(dtype=float)),
}


def add_candidates(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """`frame` with the candidate columns `names` appended (float32, inf → NaN)."""
    extra = {}
    for name in names:
        values = np.asarray(CANDIDATES[name][1](frame), dtype=float)
        extra[name] = np.where(np.isfinite(values), values, np.nan).astype(np.float32)
    return pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1)


def trial(frame: pd.DataFrame, y: np.ndarray, names: list[list[str]], *, n_splits: int = 5, n_repeats: int = 3,
          seed: int = 42) -> dict[str, Any]:
    """Paired CV AUC differences (with − without) of each candidate set in `names`, on the same folds."""
    cfg = TrainConfig(seed=seed)

    def folds_auc(x: pd.DataFrame) -> list[float]:
        params = cfg.xgb_params(1.0, list(x.columns))
        params["monotone_constraints"] = {f: -1 for f in MONOTONE_DECREASING if f in x.columns}
        result = tune(x, y, params, n_splits=n_splits, n_repeats=n_repeats, seed=seed, candidates=(PARAMS[0],),
                      quiet=True)
        return result.best.fold_auc

    base = folds_auc(frame)
    out: dict[str, Any] = {"base_cv_auc": float(np.mean(base)), "folds": len(base), "candidates": {}}
    for group in names:
        with_it = folds_auc(add_candidates(frame, group))
        diff = corrected_diff(np.subtract(with_it, base), 1 / (n_splits - 1))
        key = "+".join(group)
        out["candidates"][key] = {"cv_auc": float(np.mean(with_it)), "difference": diff,
                                  "kept": bool(diff["low"] > 0)}
        log.info("%s: %+.4f [%+.4f, %+.4f]", key, diff["mean"], diff["low"], diff["high"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scoring.feature_trials", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="folder of the Kaggle tables")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the 5-fold (3)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only", nargs="+", choices=sorted(CANDIDATES), help="try only these candidates")
    parser.add_argument("--out", type=Path, help="write the figures as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    tables = data.load_tables(args.data_dir, progress=False)
    frame = features.build_features(tables, progress=False).astype(np.float32)
    present = [c for c in CANDIDATES if c in frame.columns]
    frame = frame.drop(columns=present)  # a kept candidate is already a feature: tried against the rest
    y = tables.application.set_index("SK_ID_CURR").loc[frame.index, TARGET_COLUMN].to_numpy(dtype=int)
    names = [[n] for n in (args.only or CANDIDATES)]
    result = trial(frame, y, names, n_repeats=args.repeats, seed=args.seed)
    result["meaning"] = {k: CANDIDATES[k][0] for k in CANDIDATES}
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
