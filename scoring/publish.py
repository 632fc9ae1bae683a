"""A trained model written out: every artifact and its manifest, then the ONNX export checked for parity.

An ONNX export that cannot be made (onnxmltools absent, parity refused) is logged and skipped: the
predictor then scores with XGBoost.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from scoring.artifacts import verify_manifest, write_artifacts
from scoring.onnx_export import export_onnx

log = logging.getLogger(__name__)


def write_model(model_dir: Path, **artifacts: Any) -> dict[str, Any]:
    """`write_artifacts(model_dir, **artifacts)`, then the ONNX export; returns the final manifest."""
    write_artifacts(model_dir, **artifacts)
    try:
        export_onnx(model_dir)
    except Exception as exc:  # noqa: BLE001 - e.g. ParityError: keep the XGBoost model, say why
        log.warning("no ONNX export: %s; the predictor will score with XGBoost", exc)
    return verify_manifest(model_dir)
