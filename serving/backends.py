"""Who computes the probability: ONNX Runtime or XGBoost, chosen per call shape.

The choice is fixed here from `python benchmarks/bench_predictor.py` (numbers in
docs/decisions.md, "Scoring backends"), never timed at start-up. Every backend scores the same
float32 row with the same trees and float32 thresholds: scores agree within 1e-6 and decisions are
the same (tested, and checked on 12,000 split-probing rows before an ONNX file is written).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import xgboost as xgb

from scoring.trees import Trees
from serving import kernels
from serving.kernels import CompiledTrees

log = logging.getLogger(__name__)

ONNXRUNTIME = "onnxruntime"
XGBOOST = "xgboost"
NUMBA = kernels.NUMBA
# One row: the model's trees walked by a numba loop (5-7 µs) beat ONNX Runtime's session.run (13-20 µs,
# 8-12 of them before any tree is read); without numba, ONNX Runtime on one thread.
ROW_BACKEND = NUMBA if kernels.AVAILABLE else ONNXRUNTIME
# Batches: XGBoost's inplace_predict on every core was faster than ONNX Runtime on 2 threads.
BATCH_BACKEND = XGBOOST
# Batch scoring's row backend (its small chunks): XGBoost, so that a batch run does not spend a second
# compiling the numba loops it would barely use; the scores are the same to the bit (tested).
BATCH_RUN_ROW_BACKEND = XGBOOST
# Largest difference allowed between the ONNX file and XGBoost on the template row at load.
LOAD_CHECK_TOLERANCE = 1e-5


class XGBoostScorer:
    """XGBoost's public `inplace_predict` (no DMatrix), on `nthread` threads (0: all cores)."""

    name = XGBOOST

    def __init__(self, booster: xgb.Booster, nthread: int = 0):
        self.booster = booster.copy()
        self.booster.set_param({"nthread": nthread})

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        return self.booster.inplace_predict(matrix, validate_features=False)

    def one(self, row: np.ndarray) -> float:
        """The probability of a (1, n_features) row."""
        return float(self.booster.inplace_predict(row, validate_features=False)[0])


class OnnxScorer:
    """ONNX Runtime on the verified `best_model.onnx` of the artifact folder."""

    name = ONNXRUNTIME

    def __init__(self, path: Path, threads: int = 1):
        from scoring.onnx_export import ONNX_INPUT, ONNX_OUTPUT, session

        self._session = session(path.read_bytes(), threads=threads)
        self._run = self._session.run
        self._outputs = [ONNX_OUTPUT]
        self._input = ONNX_INPUT

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        return self._run(self._outputs, {self._input: matrix})[0][:, 1]

    def one(self, row: np.ndarray) -> float:
        """The probability of a (1, n_features) row."""
        return float(self._run(self._outputs, {self._input: row})[0][0, 1])


def _checked(scorer: OnnxScorer | CompiledTrees, what: object, reference: XGBoostScorer,
             probe: np.ndarray) -> OnnxScorer | CompiledTrees | None:
    gap = float(np.abs(scorer(probe).astype(np.float64) - reference(probe)).max())
    if gap > LOAD_CHECK_TOLERANCE:
        log.warning("%s disagrees with the XGBoost model by %.3g: not used", what, gap)
        return None
    return scorer


def onnx_scorer(path: Path | None, reference: XGBoostScorer, probe: np.ndarray, threads: int = 1) -> OnnxScorer | None:
    """An ONNX Runtime scorer for `path`, or None (no file, no onnxruntime, or it disagrees on `probe`)."""
    if path is None:
        return None
    try:
        return _checked(OnnxScorer(path, threads), path, reference, probe)
    except ImportError as exc:
        log.warning("onnxruntime is not installed (%s): not used", exc)
    except Exception as exc:  # noqa: BLE001 - an unreadable ONNX file must not stop the service
        log.warning("%s cannot be used (%s: %s): not used", path, type(exc).__name__, exc)
    return None


def compiled_scorer(trees: Trees | None, reference: XGBoostScorer, probe: np.ndarray) -> CompiledTrees | None:
    """The numba tree walk of `trees`, or None (no numba, trees unreadable, or it disagrees on `probe`)."""
    if trees is None or not kernels.ready():
        return None
    return _checked(CompiledTrees(trees), "the compiled tree walk", reference, probe)
