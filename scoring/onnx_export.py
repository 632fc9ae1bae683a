"""The model as ONNX (onnxmltools), written only after a parity check against XGBoost.

- `convert_model`: onnxmltools' XGBoost converter, fed what it needs: feature names `f0..fN`
  (it cannot read ours), the trees `predict_proba` uses (early stopping), and the base margin set
  from the model's own `base_score` (XGBoost 3 stores it as a vector string, "[7.9E-2]").
- `probing_rows`: rows that test every split: each used feature takes a value just below, at, or
  just above one of its thresholds (float32 `nextafter`), about 10 % of cells missing; plus rows
  like the training data (the template of medians with features redrawn in their training range).
- `check_parity`: max |Δ probability| against XGBoost and decision flips at the threshold.
- `export_onnx`: all of the above, then `best_model.onnx` and its entry in `manifest.json`; a
  failed check raises `ParityError` and writes nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from scoring.artifacts import Artifacts, load_artifacts, record_derived_file
from scoring.schema import MANIFEST_FILE, MODEL_FILE, ONNX_FILE
from scoring.trees import Trees, read_trees, used_booster

log = logging.getLogger(__name__)

ONNX_INPUT = "input"
ONNX_OUTPUT = "probabilities"  # (rows, 2): P(class 0), P(class 1)
ONNX_GRAPH_NAME = "credit_scoring_xgboost"
TARGET_OPSET = 15  # the highest onnxmltools 1.16's XGBoost converter accepts
MAX_ABS_DIFF = 1e-5
N_PROBING_ROWS = 10_000
N_TRAINING_LIKE_ROWS = 2_000
NAN_SHARE = 0.10


class ParityError(RuntimeError):
    """The ONNX model does not score like XGBoost; `report` holds the figures."""

    def __init__(self, report: Parity):
        self.report = report
        super().__init__(f"ONNX parity failed: {report.summary()}")


@dataclass(frozen=True)
class Parity:
    rows: int
    probing_rows: int
    training_like_rows: int
    max_abs_diff: float
    mean_abs_diff: float
    decision_flips: int
    threshold: float
    limit: float = MAX_ABS_DIFF

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.limit and self.decision_flips == 0

    def summary(self) -> str:
        return (f"{self.rows} rows ({self.probing_rows} probing every split, {self.training_like_rows} like training): "
                f"max |Δp| = {self.max_abs_diff:.3g} (limit {self.limit:g}), mean |Δp| = {self.mean_abs_diff:.3g}, "
                f"{self.decision_flips} decision flip(s) at threshold {self.threshold:g}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def convert_model(booster: xgb.Booster, trees: Trees) -> Any:
    """ONNX ModelProto of `booster` (binary:logistic): input `input` float32 (rows, n_features)."""
    from onnxmltools.convert import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    plain = xgb.XGBClassifier()
    plain.load_model(bytearray(booster.save_raw("ubj")))
    plain.get_booster().feature_names = None  # the converter wants f0..fN
    plain.get_booster().feature_types = None
    # a fixed graph name (the converter's default is a random UUID): the same model gives the same bytes
    onx = convert_xgboost(plain, name=ONNX_GRAPH_NAME,
                          initial_types=[(ONNX_INPUT, FloatTensorType([None, trees.n_features]))],
                          target_opset=TARGET_OPSET)
    for node in onx.graph.node:
        if node.op_type == "TreeEnsembleClassifier":
            for attr in node.attribute:
                if attr.name == "base_values":
                    attr.floats[:] = [float(np.float32(trees.base_margin))]
    return onx


def session(onnx_bytes: bytes, threads: int = 1) -> Any:
    """An ONNX Runtime session on the CPU with `threads` threads (1: no thread pool to wake)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])


def onnx_scores(sess: Any, matrix: np.ndarray, chunk: int = 50_000) -> np.ndarray:
    parts = [sess.run([ONNX_OUTPUT], {ONNX_INPUT: matrix[i:i + chunk]})[0][:, 1]
             for i in range(0, len(matrix), chunk)]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.float32)


def probing_rows(trees: Trees, template: np.ndarray, n: int = N_PROBING_ROWS, seed: int = 0) -> np.ndarray:
    """At least `n` float32 rows; each split threshold is probed below, at and above."""
    rng = np.random.default_rng(seed)
    by_feature = trees.thresholds_by_feature()
    n = max(n, 3 * max((len(t) for t in by_feature.values()), default=0))
    rows = np.repeat(template.reshape(1, -1).astype(np.float32), n, axis=0)
    for feature, thresholds in by_feature.items():
        below = np.nextafter(thresholds, np.float32(-np.inf))
        above = np.nextafter(thresholds, np.float32(np.inf))
        candidates = np.concatenate([below, thresholds, above])
        # every candidate at least n // len(candidates) times, in a random order per feature
        values = np.resize(candidates, n)
        rows[:, feature] = rng.permutation(values)
    rows[rng.random(rows.shape) < NAN_SHARE] = np.nan
    return rows


def training_like_rows(artifacts: Artifacts, template: np.ndarray, n: int = N_TRAINING_LIKE_ROWS,
                       seed: int = 1) -> np.ndarray:
    """Rows like the training population: the medians, with about half the features redrawn
    within the range seen in training (binary features 0/1), 10 % missing."""
    rng = np.random.default_rng(seed)
    rows = np.repeat(template.reshape(1, -1).astype(np.float32), n, axis=0)
    ranges = artifacts.reference.get("ranges", {})
    for j, name in enumerate(artifacts.features):
        r = ranges.get(name)
        if not r or r.get("min") is None or r.get("max") is None:
            continue
        redraw = rng.random(n) < 0.5
        if r.get("binary"):
            drawn = rng.integers(0, 2, n).astype(np.float32)
        else:
            drawn = rng.uniform(r["min"], r["max"], n).astype(np.float32)
        rows[redraw, j] = drawn[redraw]
    rows[rng.random(rows.shape) < NAN_SHARE] = np.nan
    return rows


def check_parity(sess: Any, booster: xgb.Booster, threshold: float, probing: np.ndarray,
                 training_like: np.ndarray) -> Parity:
    matrix = np.concatenate([probing, training_like])
    reference = booster.inplace_predict(matrix, validate_features=False).astype(np.float64)
    got = onnx_scores(sess, matrix).astype(np.float64)
    diff = np.abs(got - reference)
    flips = int(((got >= threshold) != (reference >= threshold)).sum())
    return Parity(rows=len(matrix), probing_rows=len(probing), training_like_rows=len(training_like),
                  max_abs_diff=float(diff.max()), mean_abs_diff=float(diff.mean()), decision_flips=flips,
                  threshold=threshold)


def build_and_check(artifacts: Artifacts, *, n_rows: int = N_PROBING_ROWS) -> tuple[bytes, Parity]:
    """Convert the model of `artifacts` and check it; raises `ParityError` with the figures."""
    booster = used_booster(artifacts.model)
    trees = read_trees(booster)
    onnx_bytes = convert_model(booster, trees).SerializeToString()
    template = artifacts.template_row()
    report = check_parity(session(onnx_bytes, threads=2), booster, float(artifacts.threshold["threshold"]),
                          probing_rows(trees, template, n_rows), training_like_rows(artifacts, template))
    if not report.ok:
        raise ParityError(report)
    return onnx_bytes, report


def _already_recorded(model_dir: Path, onnx_bytes: bytes) -> bool:
    """True when `best_model.onnx` holds these bytes and the manifest records it for the current model."""
    path = model_dir / ONNX_FILE
    try:
        manifest = json.loads((model_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        same_bytes = path.is_file() and path.read_bytes() == onnx_bytes
    except (OSError, ValueError):
        return False
    files = manifest.get("files", {})
    derived = manifest.get("derived", {}).get(ONNX_FILE, {})
    return same_bytes and ONNX_FILE in files and derived.get("source_sha256") == files.get(MODEL_FILE)


def export_onnx(model_dir: Path, *, n_rows: int = N_PROBING_ROWS) -> tuple[Path, Parity]:
    """Convert, check, then write `best_model.onnx` and record it in the manifest."""
    artifacts = load_artifacts(Path(model_dir), with_derived=False)
    onnx_bytes, report = build_and_check(artifacts, n_rows=n_rows)
    path = Path(model_dir) / ONNX_FILE
    if _already_recorded(Path(model_dir), onnx_bytes):  # an unchanged model: no tracked file is rewritten
        log.info("%s unchanged (same bytes, same source model); parity: %s", path, report.summary())
        return path, report
    tmp = path.with_suffix(".onnx.tmp")
    tmp.write_bytes(onnx_bytes)
    tmp.replace(path)
    import onnxmltools

    record_derived_file(Path(model_dir), ONNX_FILE, {
        "source": MODEL_FILE,
        "converter": f"onnxmltools {onnxmltools.__version__}",
        "opset": TARGET_OPSET,
        "parity": report.as_dict(),
    }, model_version=artifacts.model_version)
    log.info("wrote %s (%d bytes); parity: %s", path, len(onnx_bytes), report.summary())
    return path, report
