"""In-process scoring speed: the form's function against the seed's path, reasons, and the backends.

usage: python benchmarks/bench_predictor.py [--quick] [--model-dir DIR]

1. One applicant: `predict_credit_score` (app_gradio, as the form calls it), `Predictor.predict`
   with and without reasons, next to the seed's path (a dict of every model feature → one-row
   DataFrame → `predict_proba`), each with distinct applicants.
2. The backends for one row, side by side: the numba walk of the model's trees (`serving/kernels.py`),
   ONNX Runtime `session.run` (1 thread) and its fixed cost (the same call on an Identity model),
   XGBoost `inplace_predict` (1 thread), and XGBoost's dense predictor through its private ctypes
   entry with a reused proxy DMatrix (what the predictor used before; kept here only as the
   reference); and the reasons: TreeSHAP tables read by numba or by numpy, against a one-row
   DMatrix + `pred_contribs`.
3. Batches: rows per second of each backend at several batch sizes (rows like the training data).

Uses MODEL_DIR / models/ when it holds a model with its ONNX export, else trains the test fixture model.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import xgboost as xgb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.profiling import applicants  # noqa: E402
from benchmarks._launch import bench_main, bench_parser  # noqa: E402
from scoring.onnx_export import session, training_like_rows  # noqa: E402
from scoring.schema import MANIFEST_FILE, MODEL_FILE, ONNX_FILE, UI_FEATURE_NAMES  # noqa: E402
from scoring.trees import read_trees, used_booster  # noqa: E402
from serving.backends import OnnxScorer, XGBoostScorer, compiled_scorer  # noqa: E402
from serving.predictor import Predictor  # noqa: E402


def timings(fn: Callable[[int], object], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Wall and CPU seconds of each of `n` calls fn(i) (i varies the input), after a warm-up.

    The CPU time (this thread's) is what a call costs when the machine is shared: the wall time
    also counts the moments other processes held the core."""
    for i in range(min(500, n)):
        fn(i)
    wall, cpu = np.empty(n), np.empty(n)
    clock, cpu_clock = time.perf_counter, time.thread_time
    for i in range(n):
        t, c = clock(), cpu_clock()
        fn(i)
        cpu[i] = cpu_clock() - c
        wall[i] = clock() - t
    return wall, cpu


def private_dense_scorer(booster: xgb.Booster) -> Callable[[np.ndarray], float] | None:
    """XGBoost's `XGBoosterPredictFromDense` with one reused proxy DMatrix (xgboost internals)."""
    try:
        from xgboost._data_utils import array_interface
        from xgboost.core import _LIB, _check_call, _ProxyDMatrix, c_bst_ulong, make_jcargs
    except ImportError:
        return None
    args = make_jcargs(type=0, training=False, iteration_begin=0, iteration_end=0, missing=math.nan,
                       strict_shape=False, cache_id=0)
    proxy = _ProxyDMatrix()

    def score(row: np.ndarray) -> float:
        preds = ctypes.POINTER(ctypes.c_float)()
        shape = ctypes.POINTER(c_bst_ulong)()
        dims = c_bst_ulong()
        _check_call(_LIB.XGBoosterPredictFromDense(booster.handle, array_interface(row), args, proxy.handle,
                                                   ctypes.byref(shape), ctypes.byref(dims), ctypes.byref(preds)))
        return float(preds[0])

    return score


def _line(name: str, times: tuple[np.ndarray, np.ndarray], reference: float | None = None) -> str:
    wall, cpu = times
    p50, p99, cpu50 = (np.percentile(wall, 50) * 1e6, np.percentile(wall, 99) * 1e6, np.percentile(cpu, 50) * 1e6)
    ratio = "—" if reference is None else f"{reference / np.percentile(wall, 50):,.0f}×"
    return f"| {name} | {len(wall):,} | {p50:,.1f} | {p99:,.1f} | {cpu50:,.1f} | {ratio} |"


def one_applicant(model_dir: Path, n: int) -> list[str]:
    os.environ["MODEL_DIR"] = str(model_dir)
    from api import seed

    predictor = seed._predictor()  # the predictor the seed's function scores with (no service: no logger)
    forms = applicants(n)
    # what the service hands the predictor: the form's features the model reads (gender is recorded, not scored)
    mappings = [{k: v for k, v in zip(UI_FEATURE_NAMES, f, strict=True) if k in predictor.index} for f in forms]
    model = joblib.load(model_dir / MODEL_FILE)  # the seed's pickled XGBClassifier (the service reads the UBJSON)
    template = dict(zip(predictor.features, predictor.template[0].astype(float).tolist(), strict=True))

    def seed_path(i: int) -> float:
        row = template | mappings[i]  # every feature of the model, as the seed built it
        return float(model.predict_proba(pd.DataFrame([row], columns=predictor.features))[:, 1][0])

    assert abs(seed.predict_credit_score(*forms[0])[0] - seed_path(0)) < 1e-6, "fast and seed paths disagree"
    seed_times = timings(seed_path, max(n // 50, 200))
    ref = float(np.percentile(seed_times[0], 50))
    rows = [
        _line("`predict_credit_score` (app_gradio, the form's function)",
              timings(lambda i: seed.predict_credit_score(*forms[i]), n), ref),
        _line("`Predictor.predict`, no reasons", timings(lambda i: predictor.predict(mappings[i], explain=False), n),
              ref),
        _line("`Predictor.predict` with exact TreeSHAP reasons", timings(lambda i: predictor.predict(mappings[i]), n),
              ref),
        _line("seed path: dict of every feature → one-row DataFrame → `predict_proba`", seed_times),
    ]
    booster = used_booster(model)
    row_matrix = np.concatenate([predictor.row(m) for m in mappings])
    onnx = OnnxScorer(model_dir / ONNX_FILE, threads=1)
    xgb_row = XGBoostScorer(booster, nthread=1)
    private = private_dense_scorer(xgb_row.booster)
    shap = predictor._shap
    compiled = compiled_scorer(read_trees(booster), xgb_row, predictor.template)
    identity = identity_session(len(predictor.features))
    backends = [
        ("numba walk of the model's trees (chosen)", lambda i: compiled.one(row_matrix[i:i + 1])),
        ("ONNX Runtime `session.run`, 1 thread (public)", lambda i: onnx(row_matrix[i:i + 1])),
        ("ONNX Runtime `session.run` of an Identity model (its fixed cost)",
         lambda i: identity.run(None, {"x": row_matrix[i:i + 1]})),
        ("XGBoost `inplace_predict`, 1 thread (public)", lambda i: xgb_row(row_matrix[i:i + 1])),
    ]
    if private is not None:
        backends.append(("XGBoost dense predictor, private ctypes entry + reused proxy (removed)",
                         lambda i: private(row_matrix[i:i + 1])))
    if shap is not None:
        backends.append(("reasons: TreeSHAP tables read by numba (chosen)", lambda i: shap(row_matrix[i])))
        backends.append(("reasons: the same tables read by numpy", lambda i: shap.numpy(row_matrix[i])))
    backends.append(("reasons: one-row DMatrix + XGBoost `pred_contribs`",
                     lambda i: xgb_row.booster.predict(xgb.DMatrix(row_matrix[i:i + 1], nthread=1),
                                                       pred_contribs=True, validate_features=False)))
    m = max(n // 4, 500)
    head = "| calls | p50 µs | p99 µs | CPU p50 µs | p50: seed path / this |"
    lines = [f"| in-process path {head}", "|---|---:|---:|---:|---:|---:|", *rows, "",
             f"| one row, per backend {head}", "|---|---:|---:|---:|---:|---:|"]
    lines += [_line(name, timings(fn, m)) for name, fn in backends]
    lines.append(f"\nModel: {len(predictor.features)} features, {booster.num_boosted_rounds()} rounds; "
                 f"predictor backends {predictor.backends}.")
    return lines


def identity_session(n_features: int) -> object:
    """An ONNX Runtime session (1 thread) of a model that returns its input: session.run's own cost."""
    from onnx import TensorProto, helper

    io = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, n_features]) for name in ("x", "y")]
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", io[:1], io[1:])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return session(model.SerializeToString())


def batches(model_dir: Path, sizes: list[int], repeats: int) -> list[str]:
    predictor = Predictor.from_dir(model_dir)
    artifacts = predictor.artifacts
    matrix = training_like_rows(artifacts, artifacts.template_row(), max(sizes), seed=3)
    booster = used_booster(artifacts.model)
    scorers = {
        "numba walk, 1 thread": compiled_scorer(read_trees(booster), XGBoostScorer(booster, 1), predictor.template),
        "ONNX Runtime, 1 thread": OnnxScorer(model_dir / ONNX_FILE, threads=1),
        "ONNX Runtime, 2 threads": OnnxScorer(model_dir / ONNX_FILE, threads=2),
        "XGBoost inplace_predict, 1 thread": XGBoostScorer(booster, nthread=1),
        "XGBoost inplace_predict, all cores": XGBoostScorer(booster, nthread=0),
    }
    lines = ["| batch rows | " + " | ".join(scorers) + " |", "|---:|" + "---:|" * len(scorers)]
    for size in sizes:
        part = matrix[:size]
        cells = []
        for scorer in scorers.values():
            scorer(part)
            t = []
            for _ in range(repeats if size < 10_000 else 3):
                start = time.perf_counter()
                scorer(part)
                t.append(time.perf_counter() - start)
            cells.append(f"{size / np.median(t):,.0f}")
        lines.append(f"| {size:,} | " + " | ".join(cells) + " |")
    lines.append("\nRows per second (median of repeated calls), rows like the training data.")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = bench_parser(__doc__, "fewer calls and smaller batches").parse_args(argv)

    def run(model_dir: Path, work: Path) -> None:
        os.environ["LOG_PATH"] = str(work / "unused.log")
        print("\n".join(one_applicant(model_dir, 3_000 if args.quick else 30_000)) + "\n", flush=True)
        sizes = [1, 16, 256, 1_000, 10_000] if args.quick else [1, 16, 256, 1_000, 10_000, 100_000]
        print("\n".join(batches(model_dir, sizes, 20 if args.quick else 100)), flush=True)

    return bench_main("bench_predictor.py", args.model_dir, run, needs=(MANIFEST_FILE, ONNX_FILE),
                      fix="run `python train.py` and `python convert_to_onnx.py` first")


if __name__ == "__main__":
    sys.exit(main())
