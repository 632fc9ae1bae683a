"""The serving model: load the artifacts once, score and explain applicants. No HTTP or UI code.

Gradio, the JSON API, batch inference and the benchmarks all go through `Predictor`.

Fast path of one applicant: a numpy row prefilled with the training medians (`reference.json`
`template`) is copied, the given features are written at precomputed column indices, and XGBoost's
dense predictor scores it (no DataFrame, no DMatrix; see `_DenseRowScorer`). Batches go through
`inplace_predict`, the same C function, so a row scores the same alone or in a batch.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from scoring.artifacts import Artifacts, load_artifacts
from scoring.schema import EXCLUSIVE_GROUPS, feature_label, label_for, prediction_for

# Half-width of the "à étudier" zone around the threshold when threshold.json has no grey_zone.
DEFAULT_GREY_ZONE_HALF_WIDTH = 0.05
N_REASONS = 3  # reasons shown on each side (pushing the risk up, pulling it down)


class UnknownFeatureError(KeyError):
    """A feature name the model does not know."""

    def __init__(self, names: list[str]):
        self.names = names
        super().__init__(f"unknown feature(s): {', '.join(names)}")


@dataclass(frozen=True)
class Reason:
    """One feature's contribution (log-odds) to this applicant's risk."""

    feature: str
    label: str  # French name
    value: float | None  # the value used (None: missing)
    contribution: float  # > 0 pushes the risk up

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "label": self.label, "value": self.value,
                "contribution": round(self.contribution, 6)}


@dataclass(frozen=True)
class Prediction:
    score: float  # probability of default
    label: str  # LABEL_LOW_RISK / LABEL_HIGH_RISK
    prediction: int  # 1 = high risk
    threshold: float
    review: bool  # in the grey zone around the threshold: "à étudier"
    model_version: str
    reasons_up: tuple[Reason, ...] = field(default=())
    reasons_down: tuple[Reason, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "label": self.label,
            "prediction": self.prediction,
            "threshold": self.threshold,
            "review": self.review,
            "reasons": {"up": [r.as_dict() for r in self.reasons_up],
                        "down": [r.as_dict() for r in self.reasons_down]},
            "model_version": self.model_version,
        }


def _nan_if_none(x: Any) -> float:
    return math.nan if x is None else float(x)


class _DenseRowScorer:
    """XGBoost's own dense-input predictor (`XGBoosterPredictFromDense`, what `inplace_predict`
    calls) with one proxy DMatrix per thread, made once.

    Why: `inplace_predict` makes a new proxy per call, and each new one reads the cgroup CPU quota
    files (`/sys/fs/cgroup/cpu/cpu.cfs_*`: 13 system calls per prediction, seen with strace).
    Measured on the 389-feature model: about 43 µs instead of about 180 µs per row. The same C
    function scores the row, so the result is bit-identical (tested). It uses xgboost internals
    (pinned version): if they move, `create` returns None and `inplace_predict` is used.
    """

    def __init__(self, booster: xgb.Booster, lib: Any, proxy_type: Any, check: Any, c_ulong: Any,
                 interface: Any, args: bytes):
        self._booster = booster  # keeps the handle alive
        self._lib, self._proxy_type, self._check, self._c_ulong = lib, proxy_type, check, c_ulong
        self._interface, self._args = interface, args
        self._local = threading.local()

    @classmethod
    def create(cls, booster: xgb.Booster) -> _DenseRowScorer | None:
        try:
            from xgboost._data_utils import array_interface
            from xgboost.core import _LIB, _check_call, _ProxyDMatrix, c_bst_ulong, make_jcargs

            args = make_jcargs(type=0, training=False, iteration_begin=0, iteration_end=0, missing=math.nan,
                               strict_shape=False, cache_id=0)
            scorer = cls(booster, _LIB, _ProxyDMatrix, _check_call, c_bst_ulong, array_interface, args)
            probe = np.zeros((1, booster.num_features()), dtype=np.float32)
            if scorer(probe) != float(booster.inplace_predict(probe, validate_features=False)[0]):
                return None
            return scorer
        except Exception:  # noqa: BLE001 - any change in xgboost's internals: use the public path
            return None

    def __call__(self, row: np.ndarray) -> float:
        proxy = getattr(self._local, "proxy", None)
        if proxy is None:
            proxy = self._local.proxy = self._proxy_type()
        preds = ctypes.POINTER(ctypes.c_float)()
        shape = ctypes.POINTER(self._c_ulong)()
        dims = self._c_ulong()
        self._check(self._lib.XGBoosterPredictFromDense(
            self._booster.handle, self._interface(row), self._args, proxy.handle,
            ctypes.byref(shape), ctypes.byref(dims), ctypes.byref(preds)))
        return float(preds[0])


class Predictor:
    """Scores applicants with the verified model of one artifact folder."""

    def __init__(self, artifacts: Artifacts, *, grey_zone_half_width: float = DEFAULT_GREY_ZONE_HALF_WIDTH):
        self.artifacts = artifacts
        self.features: list[str] = list(artifacts.features)
        self.index: dict[str, int] = {name: i for i, name in enumerate(self.features)}
        self.threshold: float = float(artifacts.threshold["threshold"])
        zone = artifacts.threshold.get("grey_zone") or {}
        self.grey_zone: tuple[float, float] = (
            float(zone.get("low", self.threshold - grey_zone_half_width)),
            float(zone.get("high", self.threshold + grey_zone_half_width)),
        )
        self.model_version = artifacts.model_version
        template = artifacts.reference.get("template", {})
        # A model feature absent from the template is missing (NaN), as XGBoost learnt missing values.
        self.template = np.array([[_nan_if_none(template.get(name)) for name in self.features]], dtype=np.float32)
        booster = artifacts.model.get_booster()
        with contextlib.suppress(AttributeError):  # early-stopped: score with the trees predict_proba uses
            booster = booster[: artifacts.model.best_iteration + 1]
        # One thread for single rows: OpenMP start-up costs more than a row's traversal.
        self._single = booster.copy()
        self._single.set_param({"nthread": 1})
        self._batch = booster
        self._fast = _DenseRowScorer.create(self._single)
        # Exclusive one-hot groups: every model column of the group (the form's options and others
        # such as NAME_EDUCATION_TYPE_Academic degree), so that choosing one zeroes its siblings.
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
        row = self.template.copy()
        index = self.index
        unknown = [name for name in features if name not in index]
        if unknown:
            raise UnknownFeatureError(unknown)
        target = row[0]
        for name, value in features.items():
            if value == 1 and name in self._group_of:
                for j in self._group_of[name]:
                    if self.features[j] not in features:
                        target[j] = 0.0
            target[index[name]] = math.nan if value is None else value
        return row

    def frame_to_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of a features DataFrame in model order; absent columns come from the template."""
        unknown = [c for c in frame.columns if c not in self.index]
        if unknown:
            raise UnknownFeatureError([str(c) for c in unknown])
        matrix = np.repeat(self.template, len(frame), axis=0)
        for name in frame.columns:
            matrix[:, self.index[name]] = pd.to_numeric(frame[name], errors="raise").to_numpy(dtype=np.float32,
                                                                                             na_value=np.nan)
        return matrix

    # --- scoring ------------------------------------------------------------------------------

    def score_row(self, row: np.ndarray) -> float:
        if self._fast is not None:
            return self._fast(row)
        return float(self._single.inplace_predict(row, validate_features=False)[0])

    def predict(self, features: Mapping[str, Any], *, explain: bool = True) -> Prediction:
        """Score one applicant given as {model feature: number}; missing features take the template.

        Without `explain` the row goes through `score_row` (the fast path). With it, one DMatrix
        serves both the score and the TreeSHAP contributions (the same trees on the same float32
        values: the score is bit-identical to the fast path's).
        """
        row = self.row(features)
        if not explain:
            return self._decide(self.score_row(row))
        dmatrix = self._dmatrix(row)
        score = float(self._single.predict(dmatrix, validate_features=False)[0])
        contribs = self._single.predict(dmatrix, pred_contribs=True, validate_features=False)[0]
        up, down = self._top_reasons(row[0], contribs)
        return self._decide(score, up, down)

    def _decide(self, score: float, up: tuple[Reason, ...] = (), down: tuple[Reason, ...] = ()) -> Prediction:
        low, high = self.grey_zone
        return Prediction(
            score=score,
            label=label_for(score, self.threshold),
            prediction=prediction_for(score, self.threshold),
            threshold=self.threshold,
            review=low <= score <= high,
            model_version=self.model_version,
            reasons_up=up,
            reasons_down=down,
        )

    def predict_rows(self, rows: list[Mapping[str, Any]], *, explain: bool = False) -> list[Prediction]:
        """Score several applicants given as mappings, in one booster call (same scores as `predict`)."""
        matrix = np.concatenate([self.row(r) for r in rows]) if rows else np.empty((0, len(self.features)))
        scores = self.score_matrix(matrix)
        contribs = self.contributions(matrix) if explain and len(rows) else None
        out = []
        for i, score in enumerate(scores):
            up, down = self._top_reasons(matrix[i], contribs[i]) if contribs is not None else ((), ())
            out.append(self._decide(float(score), up, down))
        return out

    def score_matrix(self, matrix: np.ndarray) -> np.ndarray:
        if len(matrix) == 0:
            return np.empty(0, dtype=np.float32)
        booster = self._single if len(matrix) == 1 else self._batch
        return booster.inplace_predict(matrix, validate_features=False)

    def predict_many(self, frame: pd.DataFrame) -> np.ndarray:
        """Scores (probability of default) of a DataFrame of features, one per row."""
        return self.score_matrix(self.frame_to_matrix(frame))

    # --- explaining ---------------------------------------------------------------------------

    def margin(self, matrix: np.ndarray) -> np.ndarray:
        """Raw log-odds of each row (what the contributions add up to)."""
        return self._batch.inplace_predict(matrix, predict_type="margin", validate_features=False)

    def _dmatrix(self, matrix: np.ndarray) -> xgb.DMatrix:
        # One thread: on a shared machine OpenMP workers spin and wait for cores (ms-long tails).
        return xgb.DMatrix(matrix, missing=np.nan, nthread=1 if len(matrix) == 1 else 0)

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Exact TreeSHAP contributions, shape (rows, n_features + 1); the last column is the bias."""
        booster = self._single if len(matrix) == 1 else self._batch
        return booster.predict(self._dmatrix(matrix), pred_contribs=True, validate_features=False)

    def _reasons(self, row: np.ndarray) -> tuple[tuple[Reason, ...], tuple[Reason, ...]]:
        return self._top_reasons(row[0], self.contributions(row)[0])

    def _top_reasons(self, values: np.ndarray, contribs: np.ndarray) -> tuple[tuple[Reason, ...], tuple[Reason, ...]]:
        per_feature = contribs[:-1]
        order = np.argsort(per_feature)

        def reason(i: int) -> Reason:
            name = self.features[i]
            value = float(values[i])
            shown = None if math.isnan(value) else float(f"{value:.7g}")  # float32 → its shortest decimal
            return Reason(name, feature_label(name), shown, float(per_feature[i]))

        up = tuple(reason(i) for i in order[::-1][:N_REASONS] if per_feature[i] > 0)
        down = tuple(reason(i) for i in order[:N_REASONS] if per_feature[i] < 0)
        return up, down

    def explain(self, features: Mapping[str, Any]) -> tuple[tuple[Reason, ...], tuple[Reason, ...]]:
        """The features pushing this applicant's risk up and those pulling it down, strongest first."""
        return self._reasons(self.row(features))

    # --- description --------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """What /model/info shows."""
        a = self.artifacts
        return {
            "model_version": self.model_version,
            "created_at": a.manifest.get("created_at"),
            "threshold": self.threshold,
            "grey_zone": {"low": self.grey_zone[0], "high": self.grey_zone[1]},
            "cost_fn": a.threshold.get("cost_fn"),
            "cost_fp": a.threshold.get("cost_fp"),
            "n_features": len(self.features),
            "metrics": a.metrics,
        }
