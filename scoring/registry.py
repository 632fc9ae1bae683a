"""The MLflow model registry of the lifecycle: candidate versions, the `champion` and `challenger` aliases.

`train.py` registers every trained model as a version of `REGISTERED_MODEL` (`scoring.tracking`) and
tags it `status=candidate` with its `model_version` (the 12 hex digits the service logs) and the sha256
of its `manifest.json`; the version's run holds the whole model folder under `artifacts/` (metrics,
report, checksums). The version serving is the one carrying the alias `champion`; `promote.py` moves it.
The store is the tracking URI of `scoring.tracking.tracking_uri` (a local SQLite file by default).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path
from typing import Any

from scoring.tracking import (
    REGISTERED_MODEL,
    STATUS_TAG,
    VERSION_TAG,
    flat_metrics,
    quiet_mlflow,
    tracking_uri,
)

log = logging.getLogger(__name__)

CHAMPION, CHALLENGER = "champion", "challenger"
PROMOTED, REFUSED, RETIRED = "champion", "refused", "retired"  # status tags after a decision


class RegistryError(RuntimeError):
    """The registry cannot answer (no such version, no store)."""


def client(uri: str | None = None) -> Any:
    """An `MlflowClient` on `uri` (default: `tracking_uri()`), tracking and registry alike."""
    quiet_mlflow()
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    uri = uri or tracking_uri()
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def set_status(version: str | int, status: str, *, uri: str | None = None) -> None:
    client(uri).set_model_version_tag(REGISTERED_MODEL, str(version), STATUS_TAG, status)


def alias_version(alias: str, *, uri: str | None = None) -> str | None:
    """The registry version carrying `alias`, or None (no alias, no registered model, no store)."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client(uri).get_model_version_by_alias(REGISTERED_MODEL, alias).version)
    except MlflowException:
        return None


def set_alias(alias: str, version: str | int | None, *, uri: str | None = None) -> None:
    """Give `alias` to `version` (None: remove the alias)."""
    c = client(uri)
    if version is None:
        from mlflow.exceptions import MlflowException

        with contextlib.suppress(MlflowException):
            c.delete_registered_model_alias(REGISTERED_MODEL, alias)
        return
    c.set_registered_model_alias(REGISTERED_MODEL, alias, str(version))


def version_tags(version: str | int, *, uri: str | None = None) -> dict[str, str]:
    from mlflow.exceptions import MlflowException

    try:
        return dict(client(uri).get_model_version(REGISTERED_MODEL, str(version)).tags)
    except MlflowException as exc:
        raise RegistryError(f"no version {version} of {REGISTERED_MODEL} in {uri or tracking_uri()}") from exc


def find_version(model_version: str, *, uri: str | None = None) -> str | None:
    """The registry version whose model folder has this `model_version` (the latest one), or None."""
    from mlflow.exceptions import MlflowException

    try:
        found = client(uri).search_model_versions(f"name='{REGISTERED_MODEL}'")
    except MlflowException:
        return None
    matches = [int(v.version) for v in found if v.tags.get(VERSION_TAG) == model_version]
    return str(max(matches)) if matches else None


def download_version(version: str | int, destination: Path, *, uri: str | None = None) -> Path:
    """Copy the model folder of a registry version (its run's `artifacts/`) into `destination`; returns it.

    Nothing is trusted: the folder is then verified like any other (`scoring.artifacts.load_artifacts`)."""
    from mlflow.exceptions import MlflowException

    c = client(uri)
    try:
        run_id = c.get_model_version(REGISTERED_MODEL, str(version)).run_id
        fetched = Path(c.download_artifacts(run_id, "artifacts", str(destination.parent)))
    except MlflowException as exc:
        raise RegistryError(f"version {version} of {REGISTERED_MODEL} cannot be fetched from "
                            f"{uri or tracking_uri()}: {exc}") from exc
    if fetched.resolve() != destination.resolve():
        shutil.rmtree(destination, ignore_errors=True)
        fetched.rename(destination)
    return destination


def log_decision(decision: dict[str, Any], decision_dir: Path, *, uri: str | None = None) -> str | None:
    """Record a promotion decision as an MLflow run (its figures as metrics, the folder as artifacts) in the
    experiment `<REGISTERED_MODEL>-promotions`; returns the run id (None when MLflow cannot be reached)."""
    quiet_mlflow()
    import mlflow
    from mlflow.exceptions import MlflowException
    uri = uri or tracking_uri()
    try:
        mlflow.set_tracking_uri(uri)
        name = f"{REGISTERED_MODEL}-promotions"
        if mlflow.get_experiment_by_name(name) is None:  # a SQLite store keeps its artifacts beside it
            local = uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else None
            mlflow.create_experiment(name, artifact_location=(Path(local).parent / "artifacts").resolve().as_uri()
                                     if local else None)
        mlflow.set_experiment(name)
        with mlflow.start_run(run_name=f"{decision['outcome']} {decision['candidate']['model_version']}") as run:
            mlflow.log_metrics(flat_metrics(decision["figures"]))
            mlflow.set_tags({"outcome": decision["outcome"], "candidate": decision["candidate"]["model_version"],
                             "champion": str(decision["champion"].get("model_version")),
                             "reason": decision.get("reason", "")[:500]})
            mlflow.log_artifacts(str(decision_dir), artifact_path="decision")
        return run.info.run_id
    except (MlflowException, OSError) as exc:
        log.warning("the decision could not be recorded in MLflow: %s", exc)
        return None
