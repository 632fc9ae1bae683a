"""Seconds of each stage of `python train.py`: the functions it calls are wrapped with a timer, then
`train.main` runs with the given arguments. Prints the train.py summary, then on stderr one JSON object:
per stage, [wall seconds, CPU seconds of the whole process meanwhile] (a stage called several times
lists each call; the CPU of a stage that runs threads counts every thread). The CPU seconds tell what
a stage would take on idle cores when the machine is shared.

usage: python benchmarks/bench_train_stages.py [train.py arguments...]
e.g.   flock /tmp/heavy.lock python benchmarks/bench_train_stages.py --data-dir /tmp/empty --model-dir /tmp/m --quiet
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as train.py, before xgboost loads
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
STARTED = time.perf_counter()
import train  # noqa: E402

IMPORTS = time.perf_counter() - STARTED
STAGES = (
    ("scoring.synthetic", "generate", "twin generation"),
    ("scoring.features", "build_features", "features"),
    ("scoring.training", "train_model", "train_model (all)"),
    ("scoring.training", "tune", "tuning CV"),
    ("scoring.tuning", "fit_fold", "  fold fits (sum over fits run side by side)"),
    ("scoring.training", "holdout_metrics", "holdout metrics"),
    ("scoring.assessment", "holdout_intervals", "  bootstrap intervals"),
    ("scoring.assessment", "fairness_audit", "  fairness"),
    ("scoring.assessment", "shap_importance", "  SHAP importance"),
    ("scoring.training", "served_scores", "served scores"),
    ("scoring.training", "_validation", "validation section"),
    ("scoring.training", "benchmark", "  scorecard benchmark"),
    ("scoring.training", "build_reference", "reference"),
    ("scoring.training", "publish_training", "publish: report, charts, artifacts, ONNX"),
    ("scoring.publish", "export_onnx", "  ONNX export and parity"),
    ("scoring.training", "log_training_run", "MLflow"),
    ("scoring.training", "build_store", "feature store"),
)


def _wrap(times: dict[str, list[list[float]]], module: str, name: str, label: str) -> None:
    target = importlib.import_module(module)
    func = getattr(target, name, None)
    if func is None:
        return

    @functools.wraps(func)
    def timed(*args, **kwargs):
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return func(*args, **kwargs)
        finally:
            times.setdefault(label, []).append([round(time.perf_counter() - started, 2),
                                                round(time.process_time() - cpu, 2)])

    setattr(target, name, timed)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    times: dict[str, list[list[float]]] = {}
    for stage in STAGES:
        _wrap(times, *stage)
    started, cpu = time.perf_counter(), time.process_time()
    code = train.main(argv)
    doc = {"imports": round(IMPORTS, 2),
           "train.main": [round(time.perf_counter() - started, 2), round(time.process_time() - cpu, 2)],
           "load_average": os.getloadavg()[0], **times}
    print(json.dumps(doc, indent=1), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
