"""Writing and verifying the model artifacts in `models/`.

`write_artifacts` is the only writer; `load_artifacts` the only reader. The reader checks
`manifest.json` (sha256 of each file) *before* unpickling the model, and checks that the model's
feature names agree with `features.txt`, so a tampered or half-copied folder is refused with a
message that says which file and what to do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib

from scoring.schema import (
    ARTIFACT_FILES,
    FEATURES_FILE,
    MANIFEST_FILE,
    METRICS_FILE,
    MODEL_FILE,
    REFERENCE_FILE,
    THRESHOLD_FILE,
)

FIX_HINT = "re-run `python train.py --model-dir {dir}` or restore the folder from git"


class ArtifactError(RuntimeError):
    """The model folder is missing a file, has been altered, or is inconsistent."""


@dataclass(frozen=True)
class Artifacts:
    model: Any  # xgboost.XGBClassifier
    features: list[str]
    threshold: dict[str, Any]
    metrics: dict[str, Any]
    reference: dict[str, Any]
    manifest: dict[str, Any]
    directory: Path

    @property
    def model_version(self) -> str:
        return str(self.manifest["model_version"])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


def write_artifacts(
    model_dir: Path,
    *,
    model: Any,
    features: list[str],
    threshold: dict[str, Any],
    metrics: dict[str, Any],
    reference: dict[str, Any],
    extra_files: Mapping[str, bytes | Callable[[str], bytes]] | None = None,
) -> dict[str, Any]:
    """Write every artifact and the manifest; returns the manifest.

    `extra_files` (the report, charts) are written too and covered by the manifest; a callable is
    given the model version, so that a file can name the model it describes.
    """
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / MODEL_FILE, compress=3)
    (model_dir / FEATURES_FILE).write_text("\n".join(features) + "\n", encoding="utf-8")
    _write_json(model_dir / THRESHOLD_FILE, threshold)
    _write_json(model_dir / METRICS_FILE, metrics)
    _write_json(model_dir / REFERENCE_FILE, reference)
    files = {name: sha256_of(model_dir / name) for name in ARTIFACT_FILES}
    version = files[MODEL_FILE][:12]
    for name, content in (extra_files or {}).items():
        (model_dir / name).write_bytes(content(version) if callable(content) else content)
        files[name] = sha256_of(model_dir / name)
    manifest = {
        "model_version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
    }
    _write_json(model_dir / MANIFEST_FILE, manifest)
    return manifest


def _read_json(path: Path, model_dir: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path} cannot be read as JSON ({exc}); {FIX_HINT.format(dir=model_dir)}") from exc


def verify_manifest(model_dir: Path) -> dict[str, Any]:
    """Check that every artifact exists and matches its sha256; returns the manifest."""
    model_dir = Path(model_dir)
    hint = FIX_HINT.format(dir=model_dir)
    if not model_dir.is_dir():
        raise ArtifactError(f"model folder {model_dir} does not exist; run `python train.py --model-dir {model_dir}`")
    manifest_path = model_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        raise ArtifactError(f"{manifest_path} is missing; {hint}")
    manifest = _read_json(manifest_path, model_dir)
    listed = manifest.get("files", {})
    for name in (*ARTIFACT_FILES, *(n for n in listed if n not in ARTIFACT_FILES)):
        path = model_dir / name
        expected = listed.get(name)
        if not path.is_file():
            raise ArtifactError(f"{path} is missing; {hint}")
        if expected is None:
            raise ArtifactError(f"{manifest_path} has no checksum for {name}; {hint}")
        if sha256_of(path) != expected:
            raise ArtifactError(
                f"{path} does not match its checksum in {MANIFEST_FILE} (altered or partly copied); {hint}"
            )
    return manifest


def load_artifacts(model_dir: Path) -> Artifacts:
    """Verify, then load, the artifacts of `model_dir`."""
    model_dir = Path(model_dir)
    manifest = verify_manifest(model_dir)
    features = [line for line in (model_dir / FEATURES_FILE).read_text(encoding="utf-8").splitlines() if line]
    model = joblib.load(model_dir / MODEL_FILE)
    model_features = list(model.get_booster().feature_names or [])
    if model_features != features:
        raise ArtifactError(
            f"{model_dir / FEATURES_FILE} lists {len(features)} features but the model was trained on "
            f"{len(model_features)} in another order or with other names; {FIX_HINT.format(dir=model_dir)}"
        )
    return Artifacts(
        model=model,
        features=features,
        threshold=_read_json(model_dir / THRESHOLD_FILE, model_dir),
        metrics=_read_json(model_dir / METRICS_FILE, model_dir),
        reference=_read_json(model_dir / REFERENCE_FILE, model_dir),
        manifest=manifest,
        directory=model_dir,
    )
