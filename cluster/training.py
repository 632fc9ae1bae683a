"""`train.py --cluster`: features, cross-validation and refit on a Dask cluster (`xgboost.dask`).

The same model settings (`TrainConfig.xgb_params`), threshold rule (`scoring.cost.best_threshold`
on out-of-fold scores), reference (`scoring.reference.build_reference`) and writer
(`scoring.assessment`) as the single process, so the app serves either model.

What differs, and why:
- Rows are split by a hash of SK_ID_CURR and the seed (`split_of`), not by a stratified shuffle:
  every worker computes the split of its own rows without seeing the others. With thousands of
  defaults the folds' default rates differ by a fraction of a point.
- No tuning: the reference hyperparameters (`TrainConfig.xgb_params`, the first candidate of
  `scoring.tuning`) for every fold and the refit; the rounds follow the single process's rule
  (`scoring.tuning.best_mean_round` of the folds' validation curves, scaled to the refit's rows).
- Only small things come back to the client: out-of-fold and holdout scores with their targets,
  the three EXT_SOURCE columns for the logistic baseline, and a random sample of training rows
  (at most `REFERENCE_SAMPLE`) for the reference distributions and the template of medians. The
  ranges seen in training (`reference.json` "ranges", which the API enforces) are exact: minimum
  and maximum computed on the cluster over every training row.
"""

from __future__ import annotations

import fnmatch
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
import xgboost.dask  # noqa: F401 - xgb.dask
from sklearn.metrics import roc_auc_score

from cluster import connect, parse_spec, pin, worker_order
from cluster.features import Layout, feature_frame, is_layout, open_layout
from scoring import data
from scoring.assessment import Holdout, finish_metrics, holdout_metrics, master_scale_of, publish_training
from scoring.cost import best_threshold
from scoring.partition import TRUE_PROBABILITY_COLUMN, write_twin
from scoring.reference import build_reference, finite_or_none
from scoring.schema import TARGET_COLUMN, UI_FEATURE_NAMES
from scoring.training import TrainConfig, TrainResult, served_scores
from scoring.tuning import BASELINE_FEATURES, baseline_scores, best_mean_round
from scoring.validation import validation_section

log = logging.getLogger(__name__)

SPLIT_COLUMN = "_SPLIT"  # -1: holdout; 0..K-1: cross-validation fold of a training row
REFERENCE_SAMPLE = 100_000


def split_of(ids: np.ndarray, seed: int, holdout_size: float, n_splits: int) -> np.ndarray:
    """-1 (holdout) or the fold of each applicant: a hash of (id, seed), the same on every worker."""
    with np.errstate(over="ignore"):
        z = np.asarray(ids, dtype="int64").astype(np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)  # splitmix64 finaliser
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype("float64") / float(1 << 53)
    fold = np.minimum(((u - holdout_size) / (1 - holdout_size) * n_splits).astype("int64"), n_splits - 1)
    return np.where(u < holdout_size, -1, fold)


def _with_split(frame: pd.DataFrame, seed: int, holdout_size: float, n_splits: int) -> pd.DataFrame:
    split = pd.DataFrame({SPLIT_COLUMN: split_of(frame.index.to_numpy(), seed, holdout_size, n_splits)},
                         index=frame.index)
    return pd.concat([frame, split], axis=1)


def _scores(frame: pd.DataFrame, model: xgb.XGBClassifier, names: list[str], rounds: int | None = None) -> pd.DataFrame:
    """Target and score of each row of a partition, with the model the service will load (its first `rounds` trees)."""
    kept = None if rounds is None else (0, min(rounds, model.get_booster().num_boosted_rounds()))
    return pd.DataFrame({TARGET_COLUMN: frame[TARGET_COLUMN].to_numpy(),
                         TRUE_PROBABILITY_COLUMN: frame[TRUE_PROBABILITY_COLUMN].to_numpy(),
                         "score": model.predict_proba(frame[names].astype(np.float32), iteration_range=kept)[:, 1]},
                        index=frame.index)


def _collect(client, frame) -> pd.DataFrame:
    """A dask DataFrame's partitions brought to the client one by one and concatenated here.

    (`compute` would first concatenate them on one worker, whose memory then grows with the data.)
    """
    return pd.concat(client.compute(frame.to_delayed(), sync=True))


def plain_model(dask_model: xgb.dask.DaskXGBClassifier, params: dict[str, Any]) -> xgb.XGBClassifier:
    """The trained booster in a plain `XGBClassifier`, the class `best_model.pkl` holds."""
    model = xgb.XGBClassifier(**params)
    model.load_model(bytearray(dask_model.get_booster().save_raw("ubj")))
    return model


def _fit(client, rows, names: list[str], params: dict[str, Any], *, rounds: int, valid=None,
         early_stopping: int | None = None) -> xgb.dask.DaskXGBClassifier:
    """`DaskXGBClassifier` on pinned partitions (`cluster.pin`): the same rows, the same model."""
    workers = worker_order(client)
    model = xgb.dask.DaskXGBClassifier(n_estimators=rounds, early_stopping_rounds=early_stopping, **params)
    model.client = client
    eval_set = None if valid is None else [(pin(client, valid[names], workers),
                                            pin(client, valid[TARGET_COLUMN], workers))]
    return model.fit(pin(client, rows[names], workers), pin(client, rows[TARGET_COLUMN], workers),
                     eval_set=eval_set, verbose=False)


def _exact_ranges(client, train, names: list[str]) -> dict[str, dict[str, Any]]:
    """{feature: {min, max, binary}} over every training row, computed on the cluster."""
    x = train[names]
    lo, hi, present, zero_one = client.compute([x.min(), x.max(), x.count(), (x.isin([0.0, 1.0]) | x.isna()).all()],
                                               sync=True)
    return {name: {"min": finite_or_none(lo[name]) if present[name] else None,
                   "max": finite_or_none(hi[name]) if present[name] else None,
                   "binary": bool(zero_one[name] and present[name] > 0)} for name in names}


def train_on_cluster(client, layout: Layout, cfg: TrainConfig, *, quiet: bool = False) -> TrainResult:
    """Cross-validate, choose the threshold out-of-fold, refit and evaluate, all on the cluster."""
    from tqdm.auto import tqdm

    frame = feature_frame(layout).map_partitions(_with_split, cfg.seed, cfg.holdout_size, cfg.n_splits)
    frame = pin(client, frame, worker_order(client))
    names = [c for c in frame.columns if c not in (TARGET_COLUMN, TRUE_PROBABILITY_COLUMN, SPLIT_COLUMN)
             and not any(fnmatch.fnmatchcase(c, pattern) for pattern in cfg.exclude_features)]  # gender by default
    train, hold = frame[frame[SPLIT_COLUMN] >= 0], frame[frame[SPLIT_COLUMN] < 0]
    n_train, n_pos, n_hold = client.compute([train.shape[0], train[TARGET_COLUMN].sum(), hold.shape[0]], sync=True)
    if n_pos == 0 or n_pos == n_train or n_hold == 0:
        raise ValueError(f"{TARGET_COLUMN} must hold both 0 and 1 in the training rows and a holdout must remain; "
                         f"found {int(n_pos)} defaults among {n_train} training rows, {n_hold} holdout rows")
    pos_weight = float(((n_train - n_pos) / n_pos) ** cfg.balance_power)
    params = cfg.xgb_params(pos_weight, names)
    params.pop("n_jobs")  # each worker uses its own threads
    log.info("%d training rows (%d defaults), %d holdout rows, %d features, %d parts",
             n_train, n_pos, n_hold, len(names), layout.parts)

    started = time.perf_counter()
    fold_models, curves = [], []
    for k in tqdm(range(cfg.n_splits), desc="cross-validation (dask)", unit="fold", disable=quiet):
        fit_rows, valid = train[train[SPLIT_COLUMN] != k], train[train[SPLIT_COLUMN] == k]
        model = _fit(client, fit_rows, names, params, rounds=cfg.max_rounds, valid=valid,
                     early_stopping=cfg.early_stopping_rounds)
        fold_models.append(plain_model(model, params))
        curves.append(np.asarray(model.evals_result()["validation_0"]["auc"]))
        log.info("fold %d: best AUC %.4f at %d rounds", k, curves[-1].max(), int(model.best_iteration) + 1)
    # the single process's rule (`scoring.tuning`): the best round of the mean validation curve,
    # not the mean of each fold's own best (a noisy late maximum doubled the rounds on small data)
    fold_rounds = best_mean_round(curves, cfg.max_rounds)
    oof_parts, fold_aucs = [], []
    for k, model in enumerate(fold_models):
        valid = train[train[SPLIT_COLUMN] == k]
        oof_parts.append(_collect(client, valid.map_partitions(_scores, model, names, fold_rounds)))
        fold_aucs.append(float(roc_auc_score(oof_parts[-1][TARGET_COLUMN], oof_parts[-1]["score"])))
    oof = pd.concat(oof_parts)
    y, oof_scores = oof[TARGET_COLUMN].to_numpy(dtype=int), oof["score"].to_numpy()
    cv_auc = float(roc_auc_score(y, oof_scores))
    choice = best_threshold(y, oof_scores, cfg.cost_fn, cfg.cost_fp)
    log.info("CV AUC %.4f; OOF cost-optimal threshold %.3f (grey zone %.3f-%.3f)",
             cv_auc, choice.threshold, choice.grey_low, choice.grey_high)

    n_rounds = max(1, int(round(fold_rounds * cfg.n_splits / (cfg.n_splits - 1))))
    log.info("refitting on %d rows for %d rounds", n_train, n_rounds)
    final = plain_model(_fit(client, train, names, params, rounds=n_rounds), params)
    cv_seconds = time.perf_counter() - started

    held = _collect(client, hold.map_partitions(_scores, final, names))
    y_hold, hold_scores = held[TARGET_COLUMN].to_numpy(dtype=int), held["score"].to_numpy()
    base_cols = [c for c in BASELINE_FEATURES if c in names]
    base = _collect(client, train[[*base_cols, TARGET_COLUMN, SPLIT_COLUMN]])
    split = base[SPLIT_COLUMN].to_numpy()
    folds = [(np.flatnonzero(split != k), np.flatnonzero(split == k)) for k in range(cfg.n_splits)]
    # a model without some form features (gender by default) still describes them for drift, as the
    # single process does: the reference sample keeps them beside the model's columns
    described = names + [n for n in UI_FEATURE_NAMES if n not in names and n in frame.columns]
    sample = _collect(client, train[described].sample(frac=min(1.0, REFERENCE_SAMPLE / n_train),
                                                      random_state=cfg.seed))
    sample_scores = served_scores(final, sample[names])
    reference = build_reference(sample, sample_scores, seed=cfg.seed)
    reference["n_rows"] = int(n_train)
    reference["ranges"] = _exact_ranges(client, train, described)

    truth = held[TRUE_PROBABILITY_COLUMN].to_numpy()
    metrics = holdout_metrics(final, Holdout(y_hold, hold_scores, true_probability=truth), choice,
                              cost_fn=cfg.cost_fn, cost_fp=cfg.cost_fp, fold_auc=fold_aucs, n_splits=cfg.n_splits,
                              seed=cfg.seed)
    metrics |= {
        "cv_auc": cv_auc,
        "cv_fold_rounds": [fold_rounds] * cfg.n_splits,
        "baseline_ext_source_logreg_cv_auc": _baseline_cv_auc(base[base_cols], base[TARGET_COLUMN].to_numpy(int),
                                                               folds),
        "oof_cost_accept_all_per_applicant": float(cfg.cost_fn * n_pos / n_train),
        "hyperparameters": {**{k: params[k] for k in ("learning_rate", "max_depth", "min_child_weight", "reg_lambda",
                                                      "colsample_bytree", "subsample") if k in params},
                            "n_rounds": n_rounds},
        "n_rounds": n_rounds, "scale_pos_weight": pos_weight, "n_features": len(names),
        "excluded_features": list(cfg.exclude_features),
        "rows": {"train": int(n_train), "holdout": int(len(y_hold)),
                 "positives_rate": float((n_pos + y_hold.sum()) / (n_train + len(y_hold))),
                 "defaults": int(n_pos + y_hold.sum()), "holdout_defaults": int(y_hold.sum())},
        "train_seconds": round(cv_seconds, 1), "seed": cfg.seed,
        "engine": {"kind": "dask", "workers": len(client.scheduler_info(n_workers=-1)["workers"]),
                   "parts": layout.parts, "split": "hash of SK_ID_CURR and seed"},
    }
    scale = master_scale_of(y, oof_scores, sample_scores)  # served shares on the reference sample
    metrics["validation"] = validation_section(y_hold, hold_scores, scale, seed=cfg.seed)
    metrics["not_computed"]["validation.benchmark"] = "the scorecard needs the training features (on the workers)"
    metrics["not_computed"]["cv_vs_baseline"] = "the cluster's folds keep no per-fold baseline AUC"
    metrics["not_computed"]["tuning"] = "the cluster trains the reference candidate only"
    finish_metrics(metrics)
    threshold_doc = {"threshold": choice.threshold, "cost_fn": cfg.cost_fn, "cost_fp": cfg.cost_fp,
                     "grey_zone": {"low": choice.grey_low, "high": choice.grey_high}, "selected_on": "out-of-fold",
                     "master_scale": scale}
    return TrainResult(model=final, features=names, threshold=threshold_doc, metrics=metrics, reference=reference,
                       oof_scores=oof_scores, holdout_target=y_hold, holdout_scores=hold_scores, oof_target=y,
                       holdout_features=pd.DataFrame(columns=names), baseline_holdout_scores=None)


def _baseline_cv_auc(x: pd.DataFrame, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]) -> float | None:
    """CV AUC of the EXT_SOURCE logistic baseline (`scoring.tuning.baseline_scores`) on the same folds."""
    if x.empty or not x.columns.size:
        return None
    oof = np.zeros(len(y))
    for fit_idx, score_idx in folds:
        oof[score_idx] = baseline_scores(x.iloc[fit_idx], y[fit_idx], x.iloc[score_idx])
    return float(roc_auc_score(y, oof))


def run_cluster_training(data_dir: Path, model_dir: Path, cfg: TrainConfig, *, cluster: str, applicants: int,
                         quiet: bool = False) -> dict[str, Any]:
    """The whole `train.py --cluster` job; returns the metrics written to metrics.json.

    `data_dir` is a partitioned dataset (`python -m scoring.partition`); without one and without
    Kaggle files, the synthetic twin is generated and partitioned into a temporary folder first,
    which only workers on this machine can read.
    """
    parse_spec(cluster)  # a typo fails before any work
    started = time.perf_counter()
    generated = not is_layout(data_dir)
    with tempfile.TemporaryDirectory(prefix="twin-parts-") as scratch:
        if generated:
            if data.has_kaggle_data(data_dir):
                open_layout(data_dir)  # raises, saying how to partition the files
            log.warning("no partitioned dataset in %s: generating the synthetic twin (%d applicants, seed %d) "
                        "into %s (readable by local workers only)", data_dir, applicants, cfg.seed, scratch)
            write_twin(scratch, applicants=applicants, seed=cfg.seed, progress=not quiet)
            data_dir = Path(scratch)
        layout = open_layout(data_dir)
        with connect(cluster) as client:
            result = train_on_cluster(client, layout, cfg, quiet=quiet)
    result.metrics["data_source"] = {**layout.source, "row_counts": layout.tables,
                                     "partitioned": None if generated else str(layout.directory)}
    result.metrics["total_seconds"] = round(time.perf_counter() - started, 1)
    publish_training(Path(model_dir), result)
    return result.metrics
