"""Writing and verifying the model artifacts in `models/`.

`write_artifacts` is the only writer; `load_artifacts` the only reader. The reader checks
`manifest.json` (sha256 of each file, names confined to the folder, its signature when a key is set:
`scoring.artifact_checks`) *before* reading the model, then reads the model from XGBoost's own format
(`best_model.ubj`, UBJSON: data, never code; the pickle `best_model.pkl` is written for the seed's
users and never loaded here), and checks every value for sense (threshold in (0, 1), grey zone in
order, the feature list equal to the model's), so a tampered or half-copied folder is refused with a
message that says which file and what to do.

Derived files (`best_model.onnx`) are listed in the manifest's `files` (so their checksums are
verified too) and under `derived` with the sha256 of the model they were made from; one made from
another model is ignored. `model_version` is derived from what decides an answer: the model file's
bytes, the feature list and the threshold / grey zone / master-scale edges of `threshold.json`; never from a derived
file (an ONNX export's bytes differ per conversion of the same model).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import xgboost as xgb

from scoring.artifact_checks import (
    ArtifactValueError,
    check_features,
    check_reference,
    check_signature,
    check_threshold,
    confined_name,
    loads_strict,
    manifest_key,
    sign,
)
from scoring.reference import template_row
from scoring.schema import (
    ARTIFACT_FILES,
    FEATURES_FILE,
    MANIFEST_FILE,
    METRICS_FILE,
    MODEL_FILE,
    ONNX_FILE,
    REFERENCE_FILE,
    SERVED_MODEL_FILE,
    THRESHOLD_FILE,
)

log = logging.getLogger(__name__)

FIX_HINT = "re-run `python train.py --model-dir {dir}` or restore the folder from git"


class ArtifactError(RuntimeError):
    """The model folder is missing a file, has been altered, or is inconsistent."""


@dataclass(frozen=True)
class Artifacts:
    model: Any  # xgboost.Booster (the served UBJSON file)
    features: list[str]
    threshold: dict[str, Any]
    metrics: dict[str, Any]
    reference: dict[str, Any]
    manifest: dict[str, Any]
    directory: Path
    model_version: str = ""
    derived: dict[str, Path] = field(default_factory=dict)  # verified derived files of this model

    def derived_path(self, name: str) -> Path | None:
        return self.derived.get(name)

    def template_row(self) -> np.ndarray:
        """The serving template in model column order, float32: each feature's training median
        (`reference.json` `template`; null or absent → NaN, missing, as XGBoost learnt it)."""
        return template_row(self.reference.get("template", {}), self.features)


def model_version_of(model_sha256: str, features: list[str], threshold: dict[str, Any]) -> str:
    """12 hex digits that change whenever the model, its feature list or its decision values change."""
    zone = threshold.get("grey_zone") or {}
    decisive = {
        "model_sha256": model_sha256,
        "features": list(features),
        "threshold": float(threshold["threshold"]),
        "grey_zone": [zone.get("low"), zone.get("high")] if zone else None,
    }
    scale = threshold.get("master_scale")
    if scale:  # the grades are part of every answer (older folders have none: their version stays)
        decisive["grade_edges"] = [float(e) for e in scale["edges"]]
    return hashlib.sha256(json.dumps(decisive, sort_keys=True).encode()).hexdigest()[:12]


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
    """Write every artifact and the manifest; returns the manifest (`scoring.publish.write_model` adds
    the checked ONNX export).

    `extra_files` (the report, charts) are written too and covered by the manifest; a callable is
    given the model version, so that a file can name the model it describes.
    """
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / ONNX_FILE).unlink(missing_ok=True)  # made from the previous model
    joblib.dump(model, model_dir / MODEL_FILE, compress=3)
    model.save_model(model_dir / SERVED_MODEL_FILE)  # UBJSON (by its extension): what the service loads
    (model_dir / FEATURES_FILE).write_text("\n".join(features) + "\n", encoding="utf-8")
    _write_json(model_dir / THRESHOLD_FILE, threshold)
    _write_json(model_dir / METRICS_FILE, metrics)
    _write_json(model_dir / REFERENCE_FILE, reference)
    files = {name: sha256_of(model_dir / name) for name in ARTIFACT_FILES}
    version = model_version_of(files[MODEL_FILE], features, threshold)
    for name, content in (extra_files or {}).items():
        (model_dir / name).write_bytes(content(version) if callable(content) else content)
        files[name] = sha256_of(model_dir / name)
    manifest = sign({
        "model_version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
    })
    _write_json(model_dir / MANIFEST_FILE, manifest)
    return manifest


def record_derived_file(model_dir: Path, name: str, info: dict[str, Any], *, model_version: str) -> dict[str, Any]:
    """Add a file derived from the model (already written in `model_dir`) to the manifest; the
    version (`Artifacts.model_version`) is restated, so a manifest of an older form gets it too."""
    model_dir = Path(model_dir)
    manifest = verify_manifest(model_dir, skip=name)  # `name` may replace an earlier export
    manifest["model_version"] = model_version
    manifest["files"][name] = sha256_of(model_dir / name)
    manifest.setdefault("derived", {})[name] = {**info, "source_sha256": manifest["files"][MODEL_FILE]}
    manifest = sign(manifest)
    _write_json(model_dir / MANIFEST_FILE, manifest)
    return manifest


def sign_folder(model_dir: Path) -> dict[str, Any]:
    """Sign the manifest of a folder whose checksums hold, with the key of MANIFEST_KEY / MANIFEST_KEY_FILE
    (what a deployment does once to a folder it trusts, e.g. the committed model)."""
    if manifest_key() is None:
        raise ArtifactError("no key to sign with: set MANIFEST_KEY_FILE (a file outside the model folder)")
    manifest = sign(verify_manifest(Path(model_dir), signed=False))
    _write_json(Path(model_dir) / MANIFEST_FILE, manifest)
    return manifest


def add_served_model(model_dir: Path) -> dict[str, Any]:
    """Write `best_model.ubj` next to a folder's verified `best_model.pkl` (a folder of an older form), without
    retraining, and add it to the manifest. Unpickles the pickle once: run it only on a folder you trust."""
    model_dir = Path(model_dir)
    manifest = verify_manifest(model_dir, skip=SERVED_MODEL_FILE)
    model = joblib.load(model_dir / MODEL_FILE)
    model.save_model(model_dir / SERVED_MODEL_FILE)
    manifest["files"][SERVED_MODEL_FILE] = sha256_of(model_dir / SERVED_MODEL_FILE)
    manifest = sign(manifest)
    _write_json(model_dir / MANIFEST_FILE, manifest)
    return manifest


def _read_json(path: Path, model_dir: Path) -> Any:
    try:
        return loads_strict(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path} cannot be read as JSON ({exc}); {FIX_HINT.format(dir=model_dir)}") from exc


def verify_manifest(model_dir: Path, *, skip: str | None = None, signed: bool = True) -> dict[str, Any]:
    """Check that every artifact (but `skip`) exists and matches its sha256, and (`signed`) the manifest's
    signature when a key is set; returns the manifest."""
    model_dir = Path(model_dir)
    hint = FIX_HINT.format(dir=model_dir)
    if not model_dir.is_dir():
        raise ArtifactError(f"model folder {model_dir} does not exist; run `python train.py --model-dir {model_dir}`")
    manifest_path = model_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        raise ArtifactError(f"{manifest_path} is missing; {hint}")
    manifest = _read_json(manifest_path, model_dir)
    listed = manifest.get("files", {}) if isinstance(manifest, dict) else None
    if not isinstance(listed, dict) or not all(isinstance(v, str) for v in listed.values()):
        raise ArtifactError(f"{manifest_path} is not a manifest (an object with \"files\": {{name: sha256}}); {hint}")
    try:
        if signed:
            check_signature(manifest, str(manifest_path))
        for name in listed:
            confined_name(name)
    except ArtifactValueError as exc:
        raise ArtifactError(f"{exc}; {hint}") from exc
    for name in dict.fromkeys([*ARTIFACT_FILES, *listed]):
        if name == skip:
            continue
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


def _derived_files(model_dir: Path, manifest: dict[str, Any]) -> dict[str, Path]:
    model_sha = manifest["files"][MODEL_FILE]
    out = {}
    for name, info in (manifest.get("derived") or {}).items():
        if name not in manifest["files"]:
            continue
        if info.get("source_sha256") != model_sha:
            log.warning("%s was made from another model than %s: ignored", model_dir / name, MODEL_FILE)
            continue
        out[name] = model_dir / name
    return out


def load_artifacts(model_dir: Path, *, with_derived: bool = True) -> Artifacts:
    """Verify, then load, the artifacts of `model_dir` (and list its verified derived files)."""
    model_dir = Path(model_dir)
    manifest = verify_manifest(model_dir)
    hint = FIX_HINT.format(dir=model_dir)
    try:
        features = [line for line in (model_dir / FEATURES_FILE).read_text(encoding="utf-8").splitlines() if line]
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{model_dir / FEATURES_FILE} cannot be read ({exc}); {hint}") from exc
    model = xgb.Booster()  # not XGBClassifier: it needs scikit-learn, which the served image does not install
    try:
        model.load_model(model_dir / SERVED_MODEL_FILE)  # UBJSON: read as data, nothing executed
    except (xgb.core.XGBoostError, ValueError, TypeError) as exc:
        raise ArtifactError(f"{model_dir / SERVED_MODEL_FILE} is not an XGBoost model ({exc}); {hint}") from exc
    threshold = _read_json(model_dir / THRESHOLD_FILE, model_dir)
    reference = _read_json(model_dir / REFERENCE_FILE, model_dir)
    try:
        check_features(features, list(model.feature_names or []), str(model_dir / FEATURES_FILE))
        check_threshold(threshold, str(model_dir / THRESHOLD_FILE))
        check_reference(reference, features, str(model_dir / REFERENCE_FILE))
    except ArtifactValueError as exc:
        raise ArtifactError(f"{exc}; {hint}") from exc
    version = model_version_of(manifest["files"][MODEL_FILE], features, threshold)
    if manifest.get("model_version") != version:
        log.info("%s: model_version %s is not derived from the model and threshold (older manifest); using %s",
                 model_dir / MANIFEST_FILE, manifest.get("model_version"), version)
    return Artifacts(
        model=model,
        features=features,
        threshold=threshold,
        metrics=_read_json(model_dir / METRICS_FILE, model_dir),
        reference=reference,
        manifest=manifest,
        directory=model_dir,
        model_version=version,
        derived=_derived_files(model_dir, manifest) if with_derived else {},
    )


@dataclass(frozen=True)
class ReferenceArtifacts:
    """The model folder's JSON artifacts, for readers that need no model (monitoring)."""

    directory: Path
    reference: dict[str, Any]
    threshold: dict[str, Any] | None  # threshold.json, None when absent
    metrics: dict[str, Any] | None  # metrics.json, None when absent
    model_version: str | None  # the manifest's, None without a manifest
    verified: bool  # False for a stand-in folder without manifest.json (monitoring.demo)


def load_reference(model_dir: Path) -> ReferenceArtifacts:
    """Read `reference.json` (required), `threshold.json` and `metrics.json` (optional) without unpickling
    the model; when `manifest.json` exists, each file read must match its sha256 there.

    A folder without a manifest (a stand-in written by `python -m monitoring.demo`, no model) is read
    unverified: these files are data, never executed.
    """
    model_dir = Path(model_dir)
    hint = FIX_HINT.format(dir=model_dir)
    if not model_dir.is_dir():
        raise ArtifactError(f"model folder {model_dir} not found (pass --model-dir or set MODEL_DIR)")
    manifest_path = model_dir / MANIFEST_FILE
    manifest = _read_json(manifest_path, model_dir) if manifest_path.is_file() else None
    if manifest is not None and not isinstance(manifest, dict):
        raise ArtifactError(f"{manifest_path} is not a JSON object; {hint}")
    listed = None if manifest is None else manifest.get("files") or {}
    docs: dict[str, Any] = {}
    for name in (REFERENCE_FILE, THRESHOLD_FILE, METRICS_FILE):
        path = model_dir / name
        if not path.is_file():
            if name == REFERENCE_FILE:
                raise ArtifactError(f"{path} not found; {hint}")
            continue
        if listed is not None and listed.get(name) != sha256_of(path):
            raise ArtifactError(f"{path} does not match its checksum in {MANIFEST_FILE} (altered or partly "
                                f"copied); {hint}")
        docs[name] = _read_json(path, model_dir)
    version = None if manifest is None else manifest.get("model_version")
    return ReferenceArtifacts(model_dir, docs[REFERENCE_FILE], docs.get(THRESHOLD_FILE), docs.get(METRICS_FILE),
                              None if version is None else str(version), listed is not None)


def add_to_manifest(model_dir: Path, name: str) -> dict[str, Any]:
    """List a file written into a verified model folder (e.g. the promotion decision) in its manifest."""
    model_dir = Path(model_dir)
    manifest = verify_manifest(model_dir, skip=name)
    manifest["files"][name] = sha256_of(model_dir / name)
    _write_json(model_dir / MANIFEST_FILE, manifest)
    return manifest
