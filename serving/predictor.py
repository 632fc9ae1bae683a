"""The serving model: load the artifacts once, score and explain applicants. No HTTP or UI code.

Gradio, the JSON API, batch inference and the benchmarks all go through `Predictor`.

One applicant: a numpy row prefilled with the training medians (`reference.json` `template`) is
copied, the given features are written at precomputed column indices, and the row backend of
`serving/backends.py` scores it (a numba walk of the model's trees, `serving/kernels.py`; without numba,
ONNX Runtime on one thread when the folder holds a verified `best_model.onnx`; else XGBoost).
Small batches go through the same backend, so a row scores bit for bit the same alone or with
others; large batches go to the batch backend (XGBoost on every core; within 1e-6, same decisions).
Reasons are exact TreeSHAP (`serving/treeshap.py`, equal to XGBoost's `pred_contribs`), given in
log-odds and in points of default probability, restricted to the features the caller gave
(`serving/reasons.py`).
"""

from __future__ import annotations

import fnmatch
import logging
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from scoring.artifacts import Artifacts, load_artifacts
from scoring.feature_registry import feature_label
from scoring.master_scale import grade_of
from scoring.reference import served_matrix
from scoring.schema import EXCLUSIVE_GROUPS, ONNX_FILE, OUT_OF_RANGE_KEY, label_for, prediction_for
from scoring.trees import Trees, UnsupportedModel, read_trees, used_booster
from serving.backends import (
    BATCH_BACKEND,
    NUMBA,
    ONNXRUNTIME,
    ROW_BACKEND,
    XGBOOST,
    OnnxScorer,
    XGBoostScorer,
    compiled_scorer,
    onnx_scorer,
)
from serving.kernels import CompiledTrees
from serving.reasons import NO_REASONS, Reason, Reasons, reasons_of
from serving.treeshap import TreeShap

log = logging.getLogger(__name__)

# Half-width of the "à étudier" zone around the threshold when threshold.json has no grey_zone.
DEFAULT_GREY_ZONE_HALF_WIDTH = 0.05
# Up to this many rows, a batch goes through the row backend (bit-identical to single calls);
# past it, the batch backend is faster (benchmarks/bench_predictor.py).
SMALL_BATCH_ROWS = 256
MAX_CACHED_PLANS = 1024  # row-building plans kept, one per set of given feature names
# A plan: the given features' columns; for each exclusive-group member among them, its position
# and the group's columns not given; the template rows with those columns zeroed, per choice.
_Plan = tuple[np.ndarray, tuple[tuple[int, np.ndarray], ...], dict[tuple[bool, ...], np.ndarray]]


class UnknownFeatureError(KeyError):
    """A feature name the model does not know."""

    def __init__(self, names: list[str]):
        self.names = names
        super().__init__(f"unknown feature(s): {', '.join(names)}")


@dataclass(frozen=True)
class Prediction:
    score: float  # probability of default
    label: str  # LABEL_LOW_RISK / LABEL_HIGH_RISK
    prediction: int  # 1 = high risk
    threshold: float
    review: bool  # in the grey zone around the threshold: "à étudier"
    model_version: str
    grade: str | None = None  # the master-scale risk grade (A best); None for a model without one
    reasons: Reasons = NO_REASONS
    # the features of the row scored past the range seen in training (`serving.rules`: accepted, flagged);
    # set by the door that checked the row (the predictor itself does not judge its input)
    out_of_range: tuple[str, ...] = ()

    @property
    def reasons_up(self) -> tuple[Reason, ...]:
        return self.reasons.up

    @property
    def reasons_down(self) -> tuple[Reason, ...]:
        return self.reasons.down

    def packed(self) -> tuple:
        """One flat tuple of plain values (untracked by the garbage collector), for caches."""
        head = (self.score, self.label, self.prediction, self.threshold, self.review, self.model_version, self.grade,
                self.out_of_range)
        return head if self.reasons is NO_REASONS else head + self.reasons.packed()

    @classmethod
    def unpacked(cls, packed: tuple) -> Prediction:
        """The `Prediction` of `packed()`."""
        reasons = NO_REASONS if len(packed) == 8 else Reasons.unpacked(packed[8:])
        return cls(*packed[:7], reasons=reasons, out_of_range=packed[7])

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "label": self.label,
            "prediction": self.prediction,
            "threshold": self.threshold,
            "review": self.review,
            "grade": self.grade,
            "reasons": self.reasons.as_dict(),
            "model_version": self.model_version,
            OUT_OF_RANGE_KEY: list(self.out_of_range),
        }


class Predictor:
    """Scores applicants with the verified model of one artifact folder."""

    def __init__(self, artifacts: Artifacts, *, grey_zone_half_width: float = DEFAULT_GREY_ZONE_HALF_WIDTH,
                 row_backend: str = ROW_BACKEND, batch_backend: str = BATCH_BACKEND):
        self.artifacts = artifacts
        self.features: list[str] = list(artifacts.features)
        self.index: dict[str, int] = {name: i for i, name in enumerate(self.features)}
        # the patterns of features the model was trained without on purpose (gender by default): a
        # features frame built by `build_features` still has them; they are left out, not refused
        self.excluded: tuple[str, ...] = tuple(artifacts.metrics.get("excluded_features") or ())
        self._labels = [feature_label(name) for name in self.features]  # French names of the reasons
        self._all_columns = np.arange(len(self.features), dtype=np.intp)  # a full row: every column is given
        self.threshold: float = float(artifacts.threshold["threshold"])
        zone = artifacts.threshold.get("grey_zone") or {}
        self.grey_zone: tuple[float, float] = (
            float(zone.get("low", self.threshold - grey_zone_half_width)),
            float(zone.get("high", self.threshold + grey_zone_half_width)),
        )
        self.model_version = artifacts.model_version
        scale = artifacts.threshold.get("master_scale") or {}
        self.grade_edges: list[float] | None = [float(e) for e in scale["edges"]] if scale else None
        self.master_scale: dict[str, Any] | None = scale or None
        self.template = artifacts.template_row()[None, :]  # (1, n_features) float32
        booster = used_booster(artifacts.model)  # early-stopped: the trees predict_proba uses
        # One thread for single rows: OpenMP start-up costs more than a row's traversal.
        self._xgb_row = XGBoostScorer(booster, nthread=1)
        self._xgb_batch = XGBoostScorer(booster, nthread=0)
        try:
            trees: Trees | None = read_trees(booster)
        except UnsupportedModel as exc:
            log.warning("the model's trees cannot be read (%s): XGBoost scores and explains", exc)
            trees = None
        onnx_path = artifacts.derived_path(ONNX_FILE)
        onnx = compiled = None
        if NUMBA in (row_backend, batch_backend):
            compiled = compiled_scorer(trees, self._xgb_row, self.template)
        if ONNXRUNTIME in (row_backend, batch_backend) or (row_backend == NUMBA and compiled is None):
            onnx = onnx_scorer(onnx_path, self._xgb_row, self.template)
            if onnx is None:
                log.warning("%s: no usable %s (run `python convert_to_onnx.py --model-dir %s`)",
                            artifacts.directory, ONNX_FILE, artifacts.directory)
        # one row: the backend asked for, else the next fastest that is usable (numba, ONNX Runtime, XGBoost)
        self._row: XGBoostScorer | OnnxScorer | CompiledTrees = self._xgb_row
        if row_backend == NUMBA and compiled is not None:
            self._row = compiled
        elif row_backend in (NUMBA, ONNXRUNTIME) and onnx is not None:
            self._row = onnx
        self._batch: XGBoostScorer | OnnxScorer | CompiledTrees = self._xgb_batch
        if batch_backend == NUMBA and compiled is not None:
            self._batch = compiled
        elif batch_backend == ONNXRUNTIME and onnx is not None and onnx_path is not None:
            self._batch = OnnxScorer(onnx_path, threads=0)
        self._shap: TreeShap | None = None
        if trees is not None:
            try:
                self._shap = TreeShap(trees)
                if self._row is compiled:  # serving: compiled now, not on the first request
                    self._shap(self.template[0])
            except UnsupportedModel as exc:
                log.warning("exact TreeSHAP in numpy not available (%s): XGBoost computes the reasons", exc)
        # Exclusive one-hot groups: every model column of the group (the form's options and others
        # such as NAME_EDUCATION_TYPE_Academic degree), so that choosing one zeroes its siblings.
        self._plans: dict[tuple[str, ...], _Plan] = {}
        self._group_of: dict[str, list[int]] = {}
        for group in EXCLUSIVE_GROUPS:
            members = [i for name, i in self.index.items() if name.startswith(group.name + "_")]
            for i in members:
                self._group_of[self.features[i]] = members

    @classmethod
    def from_dir(cls, model_dir: str | Path, **kwargs: Any) -> Predictor:
        """Verify (checksums, feature list) and load the artifacts; raises `ArtifactError`."""
        return cls(load_artifacts(Path(model_dir)), **kwargs)

    # --- building rows -----------------------------------------------------------------------

    def row(self, features: Mapping[str, Any]) -> np.ndarray:
        """The (1, n_features) float32 input: the template, then the given features.

        Setting a one-hot column of an exclusive group to 1 zeroes the group's other columns
        unless they are given too (the template's median may be 1 for another option).
        """
        return self.row_of(tuple(features), tuple(features.values()))

    def row_of(self, names: tuple[str, ...], values: Sequence[Any]) -> np.ndarray:
        """`row` for features given as a tuple of names and their values (None: missing)."""
        return self._build(self._plan_of(names), values)

    def _plan_of(self, names: tuple[str, ...]) -> _Plan:
        plan = self._plans.get(names)
        return plan if plan is not None else self._plan(names)

    def _build(self, plan: _Plan, values: Sequence[Any]) -> np.ndarray:
        cols, hot, bases = plan
        if hot:  # the template with the siblings of the options chosen (value 1) zeroed, made once per choice
            chosen = tuple([values[position] == 1 for position, _ in hot])
            base = bases.get(chosen)
            if base is None:
                if len(bases) >= MAX_CACHED_PLANS:
                    bases.clear()
                base = bases[chosen] = self.template.copy()
                for (_, siblings), on in zip(hot, chosen, strict=True):
                    if on:
                        base[0, siblings] = 0.0
        else:
            base = self.template
        row = base.copy()
        line = row[0]  # a view: indexing it with `cols` alone costs 2 µs less than `row[0, cols]`, same writes
        try:
            line[cols] = values
        except TypeError:  # a None among the values: missing
            line[cols] = [math.nan if v is None else v for v in values]
        return row

    def _plan(self, names: tuple[str, ...]) -> _Plan:
        """Column indices of `names`, and for each exclusive-group member among them the group's
        columns not given (zeroed when the member is 1). Cached per tuple of names."""
        unknown = [name for name in names if name not in self.index]
        if unknown:
            raise UnknownFeatureError(unknown)
        if len(set(names)) != len(names):
            raise ValueError("a feature is given twice")
        given = set(names)
        hot = tuple((position, np.array([j for j in self._group_of[name] if self.features[j] not in given],
                                        dtype=np.intp))
                    for position, name in enumerate(names) if name in self._group_of)
        plan = (np.array([self.index[name] for name in names], dtype=np.intp),
                tuple((position, siblings) for position, siblings in hot if len(siblings)), {})
        if len(self._plans) >= MAX_CACHED_PLANS:
            self._plans.clear()
        self._plans[names] = plan
        return plan

    def frame_to_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of a features DataFrame in model order; absent columns come from the template."""
        unknown = [c for c in frame.columns if c not in self.index]
        left_out = [c for c in unknown if any(fnmatch.fnmatchcase(str(c), p) for p in self.excluded)]
        if len(left_out) < len(unknown):
            raise UnknownFeatureError([str(c) for c in unknown if c not in left_out])
        return served_matrix(self.template[0], self.index, frame.drop(columns=left_out) if left_out else frame)

    # --- scoring ------------------------------------------------------------------------------

    @property
    def backends(self) -> dict[str, str]:
        """What scores one row, what scores a large batch, what computes the reasons."""
        return {"row": self._row.name, "batch": self._batch.name,
                "reasons": self._shap.name if self._shap is not None else XGBOOST}

    def score_row(self, row: np.ndarray) -> float:
        """Probability of default of one (1, n_features) float32 row."""
        return self._row.one(row)

    def score(self, features: Mapping[str, Any]) -> float:
        """Probability of default of one applicant (the fast path: no Prediction object)."""
        return self._row.one(self.row(features))

    def score_values(self, names: tuple[str, ...], values: Sequence[Any]) -> float:
        """`score` for features given as a tuple of names and their values (what the form sends)."""
        return self._row.one(self.row_of(names, values))

    def predict(self, features: Mapping[str, Any], *, explain: bool = True, given: Collection[str] | None = None,
                per_side: int | None = None) -> Prediction:
        """Score one applicant given as {model feature: number}; missing features take the template.

        The score comes from the row backend either way; `explain` adds the exact TreeSHAP reasons
        (`serving.reasons.reasons_of`): the features in `given` (default: those in `features`) listed, in
        log-odds and in points of default probability, the others summed in one line. A bare form
        (11 features) lists its fields and sums the median-filled rest; a dossier's full row lists its
        `per_side` strongest factors each way (default N_REASONS), the others summed.
        """
        plan = self._plan_of(tuple(features))  # hashing a dossier's 389 names once, not twice
        row = self._build(plan, tuple(features.values()))
        cols = plan[0] if given is None else self._plan_of(tuple(given))[0]
        return self.predict_row(row, explain=explain, given=cols, per_side=per_side)

    def predict_row(self, row: np.ndarray, *, explain: bool = True, given: np.ndarray | None = None,
                    per_side: int | None = None) -> Prediction:
        """`predict` for a ready (1, n_features) float32 row in model order (a stored dossier's); `given`:
        the columns listed one by one (default: every column, the row's `per_side` strongest each way)."""
        score = self._row.one(row)
        if not explain:
            return self._decide(score)
        cols = self._all_columns if given is None else given
        return self._decide(score, reasons_of(self.contributions(row)[0], row[0], self.features, self._labels, cols,
                                              per_side))

    def explain(self, features: Mapping[str, Any], *, given: Collection[str] | None = None,
                per_side: int | None = None) -> Reasons:
        """The reasons of `predict(features, given=given, per_side=per_side)` alone."""
        return self.predict(features, given=given, per_side=per_side).reasons

    def _decide(self, score: float, reasons: Reasons = NO_REASONS) -> Prediction:
        low, high = self.grey_zone
        return Prediction(
            score=score,
            label=label_for(score, self.threshold),
            prediction=prediction_for(score, self.threshold),
            threshold=self.threshold,
            review=low <= score <= high,
            model_version=self.model_version,
            grade=None if self.grade_edges is None else grade_of(self.grade_edges, score),
            reasons=reasons,
        )

    def predict_rows(self, rows: list[Mapping[str, Any]], *, explain: bool = False) -> list[Prediction]:
        """Score several applicants given as mappings, in one booster call (same scores as `predict`)."""
        matrix = np.concatenate([self.row(r) for r in rows]) if rows else np.empty((0, len(self.features)))
        scores = self.score_matrix(matrix)
        contribs = self.contributions(matrix) if explain and len(rows) else None
        out = []
        for i, score in enumerate(scores):
            reasons = NO_REASONS if contribs is None else reasons_of(
                contribs[i], matrix[i], self.features, self._labels, self._plan_of(tuple(rows[i]))[0])
            out.append(self._decide(float(score), reasons))
        return out

    def score_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Scores of a (rows, n_features) float32 matrix: small batches on the row backend."""
        if len(matrix) == 0:
            return np.empty(0, dtype=np.float32)
        return (self._row if len(matrix) <= SMALL_BATCH_ROWS else self._batch)(matrix)

    def predict_many(self, frame: pd.DataFrame) -> np.ndarray:
        """Scores (probability of default) of a DataFrame of features, one per row."""
        return self.score_matrix(self.frame_to_matrix(frame))

    # --- explaining ---------------------------------------------------------------------------

    def margin(self, matrix: np.ndarray) -> np.ndarray:
        """Raw log-odds of each row (what the contributions add up to)."""
        return self._xgb_batch.booster.inplace_predict(matrix, predict_type="margin", validate_features=False)

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Exact TreeSHAP contributions (log-odds), shape (rows, n_features + 1); the last column is the
        bias (the base margin). One row: `serving.treeshap` (its tables, read by numba or numpy); several: XGBoost's
        `pred_contribs`."""
        if len(matrix) == 1:
            if self._shap is not None:
                return self._shap(matrix[0])[None, :]
            # One thread: on a shared machine OpenMP workers spin and wait for cores (ms-long tails).
            dmatrix = xgb.DMatrix(matrix, missing=np.nan, nthread=1)
            return self._xgb_row.booster.predict(dmatrix, pred_contribs=True, validate_features=False)
        booster = self._xgb_batch.booster
        return booster.predict(xgb.DMatrix(matrix, missing=np.nan), pred_contribs=True, validate_features=False)

    # --- description --------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """What /model/info shows."""
        a = self.artifacts
        return {
            "model_version": self.model_version,
            "created_at": a.manifest.get("created_at"),
            "threshold": self.threshold,
            "grey_zone": {"low": self.grey_zone[0], "high": self.grey_zone[1]},
            "master_scale": None if self.master_scale is None else [
                {k: g[k] for k in ("grade", "low", "high", "pd")} for g in self.master_scale["grades"]],
            "cost_fn": a.threshold.get("cost_fn"),
            "cost_fp": a.threshold.get("cost_fp"),
            "n_features": len(self.features),
            "backends": self.backends,
            "metrics": a.metrics,
        }
