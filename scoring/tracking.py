"""MLflow tracking of a training run: parameters, metrics, the artifacts and report, the model.

Where: the tracking server of `MLFLOW_TRACKING_URI` when set, else a local SQLite store
`mlruns/mlflow.db` with its artifacts in `mlruns/artifacts/` (MLflow 3's default backend is SQLite;
both are git-ignored). Telemetry is turned off before MLflow is imported. The model is logged with
its signature (feature names and types, score output) and registered as `REGISTERED_MODEL`, each
run adding a version tagged as a candidate (`scoring.registry`: `promote.py` makes one the champion).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from scoring import config
from scoring.artifacts import sha256_of
from scoring.schema import MANIFEST_FILE

log = logging.getLogger(__name__)

EXPERIMENT = "credit-scoring"
REGISTERED_MODEL = "credit-scoring"
LOCAL_STORE = config.PROJECT_ROOT / "mlruns"
# Tags of a registered version (scoring.registry reads and moves them): its lifecycle status, the
# `model_version` the service logs, and the sha256 of its manifest.json.
STATUS_TAG, VERSION_TAG, MANIFEST_TAG = "status", "model_version", "manifest_sha256"
CANDIDATE = "candidate"


def quiet_mlflow() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")


def tracking_uri(store: Path = LOCAL_STORE) -> str:
    """`MLFLOW_TRACKING_URI` when set, else the local SQLite store under `store`."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(store).resolve() / 'mlflow.db'}"


def flat_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The numeric scalars of metrics.json (nested keys joined with '.'), as MLflow metrics."""
    out: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, int | float):
            out[prefix] = float(value)
        elif isinstance(value, dict) and prefix.split(".")[0] not in ("tuning", "data_source"):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)

    walk("", {k: v for k, v in metrics.items() if k not in ("calibration", "importance", "fairness")})
    for dim in ("gender", "age"):
        doc = metrics.get("fairness", {}).get(dim)
        if doc:
            for key in ("approval_ratio", "equalised_odds_difference"):
                walk(f"fairness.{dim}.{key}", doc[key])
            walk(f"fairness.{dim}.gaps", doc["gaps"])
    return {k.replace(" ", "_"): v for k, v in out.items() if v == v}  # NaN dropped


def log_training_run(model_dir: Path, result: Any, cfg: Any, manifest: dict[str, Any], *,
                     store: Path = LOCAL_STORE, quiet: bool = False) -> dict[str, Any]:
    """Record one train.py run; returns its run id, tracking URI and registered version."""
    quiet_mlflow()
    import mlflow
    from mlflow.models import infer_signature

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    uri = tracking_uri(store)
    mlflow.set_tracking_uri(uri)
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        location = None if os.environ.get("MLFLOW_TRACKING_URI") else (Path(store).resolve() / "artifacts").as_uri()
        mlflow.create_experiment(EXPERIMENT, artifact_location=location)
    mlflow.set_experiment(EXPERIMENT)
    metrics = result.metrics
    params = {
        **{k: v for k, v in vars(cfg).items() if k not in ("fixed_params",)},
        **{f"chosen.{k}": v for k, v in metrics["hyperparameters"].items()},
        "data_source": metrics.get("data_source", {}).get("kind"),
        "model_version": manifest["model_version"],
        "n_features": metrics["n_features"],
    }
    with mlflow.start_run(run_name=f"train {manifest['model_version']}") as run:
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.log_metrics(flat_metrics(metrics))
        mlflow.set_tags({"warnings": ",".join(w["code"] for w in metrics["warnings"]) or "none",
                         "model_dir": str(model_dir)})
        mlflow.log_artifacts(str(model_dir), artifact_path="artifacts")
        sample = result.holdout_features.head(200)
        signature = infer_signature(sample, result.model.predict_proba(sample)[:, 1])
        info = mlflow.xgboost.log_model(result.model, name="model", signature=signature,
                                        registered_model_name=REGISTERED_MODEL)
    out = {"run_id": run.info.run_id, "tracking_uri": uri, "registered_model": REGISTERED_MODEL,
           "registered_version": getattr(info, "registered_model_version", None)}
    if out["registered_version"] is not None:  # a candidate until promote.py says otherwise
        from mlflow.tracking import MlflowClient

        tags = {STATUS_TAG: CANDIDATE, VERSION_TAG: manifest["model_version"],
                MANIFEST_TAG: sha256_of(Path(model_dir) / MANIFEST_FILE)}
        registry = MlflowClient(tracking_uri=uri, registry_uri=uri)
        for key, value in tags.items():
            registry.set_model_version_tag(REGISTERED_MODEL, str(out["registered_version"]), key, value)
    log.info("MLflow run %s recorded in %s", out["run_id"], uri)
    return out
