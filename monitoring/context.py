"""What monitoring needs from the model folder, read through `scoring.artifacts` (its one reader): the
reference distributions, the threshold, the training metrics and the model version; never the model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scoring.artifacts import ArtifactError, load_reference
from scoring.schema import REFERENCE_FILE, SCORE_KEY, THRESHOLD_FILE


class ContextError(OSError):
    """The model folder lacks a readable reference.json, has an unreadable threshold.json, or a file that
    does not match its checksum."""


@dataclass(frozen=True)
class ModelContext:
    """The reference distributions, the threshold, the training metrics and the model version."""

    directory: Path
    reference: dict[str, Any]
    threshold: float | None
    metrics: dict[str, Any] | None = None
    model_version: str | None = None
    master_scale: dict[str, Any] | None = None  # threshold.json's master scale (risk grades); None without one

    @property
    def reference_high_risk_share(self) -> float | None:
        """Share of training scores at or above the threshold (from the reference sample)."""
        entry = self.reference.get("features", {}).get(SCORE_KEY, {})
        sample = np.asarray(entry.get("sample") or [], dtype=float)
        if self.threshold is None or sample.size == 0:
            return None
        return float(np.mean(sample >= self.threshold))


def load_context(model_dir: Path | str) -> ModelContext:
    """Read `reference.json` (required), `threshold.json` and `metrics.json` (optional) from the model folder,
    checked against its manifest when it has one."""
    directory = Path(model_dir)
    try:
        found = load_reference(directory)
    except ArtifactError as exc:
        raise ContextError(str(exc)) from exc
    if not isinstance(found.reference, dict) or not isinstance(found.reference.get("features"), dict):
        raise ContextError(f"{directory / REFERENCE_FILE} has no \"features\" object (see scoring/reference.py)")
    threshold = None
    if found.threshold is not None:
        value = found.threshold.get("threshold") if isinstance(found.threshold, dict) else None
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
            raise ContextError(f"{directory / THRESHOLD_FILE}: expected {{\"threshold\": number in [0, 1]}}")
        threshold = float(value)
    metrics = found.metrics if isinstance(found.metrics, dict) else None
    scale = found.threshold.get("master_scale") if isinstance(found.threshold, dict) else None
    if scale is not None and not (isinstance(scale, dict) and isinstance(scale.get("edges"), list)
                                  and isinstance(scale.get("grades"), list)
                                  and len(scale["grades"]) == len(scale["edges"]) + 1):
        raise ContextError(f"{directory / THRESHOLD_FILE}: \"master_scale\" needs edges and one more grade")
    return ModelContext(directory, found.reference, threshold, metrics, found.model_version, scale)
