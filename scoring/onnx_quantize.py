"""What quantisation can do to the ONNX tree ensemble: size, speed, parity and decisions, measured.

Variants tried on `best_model.onnx` (each checked on the rows of the ONNX parity check):

- `ort-dynamic-int8`: ONNX Runtime's `quantize_dynamic` (weights to int8). Its operator registries
  list no tree-ensemble op, so it leaves the TreeEnsembleClassifier node as it is (the tool also
  needs an `ai.onnx` opset import, which the converter's graph lacks; we add it to let it run).
- `ort-static`: `quantize_static` uses the same registries (QLinear/QDQ): nothing to quantise
  either; reported from the registries, not run (it would need calibration data for nothing).
- `float16-thresholds-and-leaves`: every split threshold and leaf value rounded to float16.
- `float16-leaves`: leaf values rounded to float16, thresholds kept.

The ai.onnx.ml TreeEnsembleClassifier stores thresholds and leaf values as float32 attributes (its
`*_as_tensor` forms allow double, not float16), so rounding does not shrink the file; a quantised
file is written only when it changes the tree node, flips no decision and is smaller.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scoring.artifacts import load_artifacts, record_derived_file
from scoring.onnx_export import (
    ONNX_INPUT,
    ONNX_OUTPUT,
    onnx_scores,
    probing_rows,
    session,
    training_like_rows,
)
from scoring.schema import ONNX_FILE
from scoring.trees import read_trees, used_booster

log = logging.getLogger(__name__)

QUANTISED_FILE = "best_model.quant.onnx"
TIMED_CALLS = 3000


@dataclass(frozen=True)
class Variant:
    name: str
    applies: bool  # did the tool change the model at all
    note: str
    size_bytes: int
    gzip_bytes: int
    row_p50_us: float | None  # one row, ONNX Runtime on one thread
    max_abs_diff: float | None  # against the unquantised ONNX model
    decision_flips: int | None
    rows: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tree_node(model: Any) -> Any:
    return next(n for n in model.graph.node if n.op_type.startswith("TreeEnsemble"))


def _round_attributes(model: Any, names: tuple[str, ...]) -> tuple[Any, str]:
    """`model` with the float attributes `names` of its tree node rounded to float16."""
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(model)
    overflow = 0
    for attr in _tree_node(out).attribute:
        if attr.name in names:
            values = np.asarray(attr.floats, dtype=np.float32)
            with np.errstate(over="ignore"):
                rounded = values.astype(np.float16).astype(np.float32)
            overflow += int((np.isinf(rounded) & np.isfinite(values)).sum())
            attr.floats[:] = rounded.tolist()
    return out, f"rounded, stored as float32; {overflow} value(s) beyond float16's ±65,504 became infinite"


@contextlib.contextmanager
def _quiet_preprocessing_hint() -> Iterator[None]:
    """ONNX Runtime's quantiser logs "Please consider to run pre-processing before quantization" on the
    root logger: advice for neural networks, not for a tree ensemble; left out of the report's output."""
    def keep(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Please consider to run pre-processing")

    root = logging.getLogger()
    root.addFilter(keep)
    handlers = list(root.handlers)
    for handler in handlers:
        handler.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)
        for handler in handlers:
            handler.removeFilter(keep)


def _ort_dynamic(model: Any) -> tuple[Any, str]:
    import onnx
    from onnx import helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    prepared = onnx.ModelProto()
    prepared.CopyFrom(model)
    if not any(o.domain in ("", "ai.onnx") for o in prepared.opset_import):
        prepared.opset_import.append(helper.make_opsetid("", 15))  # the tool refuses a graph without it
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.onnx", Path(tmp) / "out.onnx"
        onnx.save(prepared, str(src))
        with _quiet_preprocessing_hint():
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
        quantised = onnx.load(str(dst))
    same = _tree_node(quantised).SerializeToString() == _tree_node(model).SerializeToString()
    ops = sorted({n.op_type for n in quantised.graph.node})
    return quantised, f"ops after: {', '.join(ops)}; tree node {'unchanged' if same else 'changed'}"


def _registries_note() -> str:
    from onnxruntime.quantization.registry import IntegerOpsRegistry, QDQRegistry, QLinearOpsRegistry

    ops = set(IntegerOpsRegistry) | set(QLinearOpsRegistry) | set(QDQRegistry)
    trees = sorted(op for op in ops if "Tree" in op)
    return f"{len(ops)} quantisable op types, tree ops among them: {trees or 'none'}"


def _row_p50_us(model_bytes: bytes, row: np.ndarray) -> float:
    sess = session(model_bytes, threads=1)
    feed = {ONNX_INPUT: row}
    for _ in range(300):
        sess.run([ONNX_OUTPUT], feed)
    times = np.empty(TIMED_CALLS)
    for i in range(TIMED_CALLS):
        t = time.perf_counter()
        sess.run([ONNX_OUTPUT], feed)
        times[i] = time.perf_counter() - t
    return float(np.percentile(times, 50) * 1e6)


def _measure(name: str, model: Any, note: str, base: Any, reference: np.ndarray, matrix: np.ndarray,
             threshold: float) -> Variant:
    data = model.SerializeToString()
    applies = _tree_node(model).SerializeToString() != _tree_node(base).SerializeToString()
    scores = onnx_scores(session(data, threads=2), matrix).astype(np.float64)
    flips = int(((scores >= threshold) != (reference >= threshold)).sum())
    return Variant(name=name, applies=applies, note=note, size_bytes=len(data), gzip_bytes=len(gzip.compress(data)),
                   row_p50_us=_row_p50_us(data, matrix[:1]), max_abs_diff=float(np.abs(scores - reference).max()),
                   decision_flips=flips, rows=len(matrix))


def run_quantisation(model_dir: Path, *, n_rows: int = 10_000, write: bool = True) -> tuple[list[Variant], Path | None]:
    """Measure every variant; write the best one that flips no decision and gains something."""
    import onnx

    model_dir = Path(model_dir)
    artifacts = load_artifacts(model_dir)
    path = artifacts.derived_path(ONNX_FILE)
    if path is None:
        raise FileNotFoundError(f"{model_dir / ONNX_FILE} is not a verified export of this model; "
                                f"run `python convert_to_onnx.py --model-dir {model_dir}` first")
    base = onnx.load(str(path))
    base_bytes = base.SerializeToString()
    trees = read_trees(used_booster(artifacts.model))
    template = artifacts.template_row()
    matrix = np.concatenate([probing_rows(trees, template, n_rows), training_like_rows(artifacts, template)])
    reference = onnx_scores(session(base_bytes, threads=2), matrix).astype(np.float64)
    threshold = float(artifacts.threshold["threshold"])

    candidates: list[tuple[str, Callable[[], tuple[Any, str]]]] = [
        ("original (float32)", lambda: (base, "what convert_to_onnx.py wrote")),
        ("ort-dynamic-int8", lambda: _ort_dynamic(base)),
        ("float16-thresholds-and-leaves", lambda: _round_attributes(base, ("nodes_values", "class_weights"))),
        ("float16-leaves", lambda: _round_attributes(base, ("class_weights",))),
    ]
    variants = [_measure(name, *make(), base, reference, matrix, threshold) for name, make in candidates]
    variants.append(Variant("ort-static", False, _registries_note(), len(base_bytes), len(gzip.compress(base_bytes)),
                            None, None, None, 0))
    original = variants[0]
    # Speed is not a criterion: the tree structure is the same in every variant, and one-row timings
    # on a shared machine differ by more than any real gain.
    usable = [v for v in variants[1:] if v.applies and v.decision_flips == 0 and v.size_bytes < original.size_bytes]
    written = None
    if write and usable:
        best = min(usable, key=lambda v: v.size_bytes)
        made = dict(candidates)[best.name]()[0]
        written = model_dir / QUANTISED_FILE
        written.write_bytes(made.SerializeToString())
        record_derived_file(model_dir, QUANTISED_FILE, {"source": ONNX_FILE, "variant": best.name,
                                                         "decision_flips": 0, "rows": best.rows},
                            model_version=artifacts.model_version)
        log.info("wrote %s (%s)", written, best.name)
    return variants, written
