"""Promote a candidate (or refuse it), set the challenger, roll back: the lifecycle's commands.

The champion is the model in the serving folder (`MODEL_DIR`, default `models/`: what the service
reads and the deploy ships); the registry's `champion` alias follows it. A candidate is a registry
version (a number: its run's model folder is fetched) or a model folder. Both go through
`Predictor.from_dir` (checksums, feature list) and `serving.model_checks.verify` (parity) before any figure:
a tampered candidate is refused there. Every decision is a folder `decisions/<time>-<version>/` of the
lifecycle folder whose `metrics.json` holds the figures, the rule, each check and the outcome; a
promotion also writes it into the new serving folder as `promotion.json` (listed in its manifest: the
deploy checks it) and swaps the folder in one step (`lifecycle.folders`).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lifecycle import folders
from lifecycle.compare import compare
from lifecycle.holdout import Holdout
from scoring import config, registry
from scoring.artifacts import ArtifactError, add_to_manifest, verify_manifest
from scoring.gate import GateRule
from scoring.schema import MODEL_FILE, PROMOTION_FILE
from scoring.tracking import tracking_uri
from serving.model_checks import ModelRefused, verify
from serving.predictor import Predictor

log = logging.getLogger(__name__)

PROMOTED, REFUSED, FORCED = "promoted", "refused", "forced"


class LifecycleError(RuntimeError):
    """A lifecycle command that cannot run (nothing to roll back, an unknown candidate...)."""


@dataclass(frozen=True)
class Places:
    serving_dir: Path  # the champion's folder, read by the service
    lifecycle_dir: Path  # decisions, replaced folders, history.jsonl
    registry_uri: str | None  # the MLflow store; None: no registry (folders only)

    @classmethod
    def default(cls, serving_dir: Path | None = None, lifecycle_dir: Path | None = None,
                registry_uri: str | None = "", use_registry: bool = True) -> Places:
        uri = (registry_uri or tracking_uri()) if use_registry else None
        return cls(Path(serving_dir or config.model_dir()), Path(lifecycle_dir or config.lifecycle_dir()), uri)

    def registry_ready(self) -> bool:
        """A registry to use: a server, or a local SQLite store that exists (never created by a look)."""
        if self.registry_uri is None:
            return False
        if self.registry_uri.startswith("sqlite:///"):
            return Path(self.registry_uri.removeprefix("sqlite:///")).is_file()
        return True


def _fetch(spec: str, places: Places, work: Path) -> tuple[Path, str | None]:
    """(model folder, registry version) of a candidate named by a registry version or a folder."""
    if spec.isdigit():
        if not places.registry_ready():
            raise LifecycleError(f"candidate {spec}: no model registry at {places.registry_uri}")
        return registry.download_version(spec, work / "candidate", uri=places.registry_uri), spec
    folder = Path(spec)
    if not folder.is_dir():
        raise LifecycleError(f"candidate {spec}: neither a registry version (a number) nor a model folder")
    return folder, None


def _load(folder: Path) -> Predictor:
    predictor = Predictor.from_dir(folder)
    verify(predictor)
    return predictor


def _describe(predictor: Predictor | None, registry_version: str | None, source: str | Path) -> dict[str, Any]:
    """A model as a decision records it; `files`: the sha256 of every file of its folder (the model the service
    loads, its features, threshold, reference...), which the deploy's check binds to the decision."""
    if predictor is None:
        return {"model_version": None, "source": folders.portable(source)}
    files = predictor.artifacts.manifest["files"]
    return {"model_version": predictor.model_version, "model_sha256": files[MODEL_FILE],
            "files": {name: sha for name, sha in files.items() if name != PROMOTION_FILE},
            "registry_version": registry_version, "source": folders.portable(source)}


def _write_decision(places: Places, decision: dict[str, Any]) -> Path:
    """Write the decision's folder; the decision names it relative to the lifecycle folder (`decision`), and
    keeps its full path only in memory (`decision_dir`: what the command prints)."""
    version = decision["candidate"].get("model_version") or "unreadable"
    folder = places.lifecycle_dir / "decisions" / f"{folders.now_stamp()}-{version}"
    folder.mkdir(parents=True)
    decision["decision"] = folder.relative_to(places.lifecycle_dir).as_posix()
    (folder / "metrics.json").write_text(_decision_json(decision), encoding="utf-8")
    decision["decision_dir"] = str(folder)
    return folder


def _decision_json(decision: dict[str, Any]) -> str:
    kept = {k: v for k, v in decision.items() if k not in ("decision_dir", "installed")}
    return json.dumps(kept, indent=2, ensure_ascii=False, default=str) + "\n"


def promote(spec: str, *, places: Places, holdout: Any, rule: GateRule | None = None, force: bool = False,
            reason: str = "", dry_run: bool = False, n_boot: int = 1000) -> dict[str, Any]:
    """Compare the candidate `spec` with the champion; promote it when the rule passes (or `force`), else
    refuse it. `holdout` is a `Holdout` or a callable making one (only called once both models load).
    Returns the decision (with `decision_dir`)."""
    rule = rule or GateRule()
    if force and not reason.strip():
        raise LifecycleError("--force needs --reason: the decision records why the gate was overridden")
    places.lifecycle_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=places.lifecycle_dir, prefix=".fetch-") as work:
        folder, version = _fetch(spec, places, Path(work))
        decision: dict[str, Any] = {"decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
                                    "rule": rule.as_dict(), "forced": force, "reason": reason.strip()}
        champion = None
        try:
            champion = _load(places.serving_dir)
        except (ArtifactError, ModelRefused, OSError) as exc:
            log.warning("no valid champion in %s (%s): the candidate is judged alone", places.serving_dir, exc)
        known = champion is not None and places.registry_ready()
        decision["champion"] = _describe(
            champion, registry.find_version(champion.model_version, uri=places.registry_uri) if known else None,
            str(places.serving_dir))
        try:
            candidate = _load(folder)
        except (ArtifactError, ModelRefused) as exc:  # tampered, half-copied, parity: never compared
            decision |= {"candidate": {"model_version": None, "source": folders.portable(spec),
                                       "registry_version": version},
                         "outcome": REFUSED, "failed": [f"verification: {exc}"], "checks": [], "figures": {}}
            _write_decision(places, decision)
            return decision
        if version is None and places.registry_ready():
            version = registry.find_version(candidate.model_version, uri=places.registry_uri)
        decision["candidate"] = _describe(candidate, version, spec)
        if champion is not None and champion.model_version == candidate.model_version and not force:
            decision |= {"outcome": REFUSED, "checks": [], "figures": {},
                         "failed": [f"the candidate is the serving champion already ({candidate.model_version})"]}
            _write_decision(places, decision)
            return decision
        data = holdout() if callable(holdout) else holdout
        if not isinstance(data, Holdout):
            raise LifecycleError(f"the holdout must be a lifecycle.holdout.Holdout, got {type(data).__name__}")
        figures, checks = compare(candidate, champion, data, rule, n_boot=n_boot)
        failed = [f"{c['check']}: {c['figure']} = {c['value']} (limit {c['limit']})" for c in checks if not c["passed"]]
        outcome = PROMOTED if not failed else FORCED if force else REFUSED
        decision |= {"outcome": outcome, "failed": failed, "checks": checks, "figures": figures}
        decision_dir = _write_decision(places, decision)
        if outcome != REFUSED and not dry_run:
            decision["installed"] = _install(folder, candidate, champion, decision, places)
        if places.registry_ready() and version is not None and not dry_run:
            registry.set_status(version, registry.PROMOTED if outcome != REFUSED else registry.REFUSED,
                                uri=places.registry_uri)
        if places.registry_ready():
            registry.log_decision(decision, decision_dir, uri=places.registry_uri)
    return decision


def _install(folder: Path, candidate: Predictor, champion: Predictor | None, decision: dict[str, Any],
             places: Places) -> dict[str, Any]:
    """Swap the candidate in as the serving folder (with its decision), move the alias, record it."""
    staging = folders.staging_copy(folder, places.serving_dir)
    try:
        (staging / PROMOTION_FILE).write_text(_decision_json(decision), encoding="utf-8")
        add_to_manifest(staging, PROMOTION_FILE)
        copied = {k: v for k, v in verify_manifest(staging)["files"].items() if k != PROMOTION_FILE}
        if copied != decision["candidate"]["files"]:  # the candidate folder changed since it was compared
            raise LifecycleError(f"{folder} changed while it was being promoted: run the promotion again")
        replaced = champion.model_version if champion else "none"
        archive = places.lifecycle_dir / "archive" / f"{folders.now_stamp()}-{replaced}"
        archived = folders.swap_in(staging, places.serving_dir, archive)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous_version = decision["champion"].get("registry_version")
    if places.registry_ready() and decision["candidate"].get("registry_version"):
        registry.set_alias(registry.CHAMPION, decision["candidate"]["registry_version"], uri=places.registry_uri)
    entry = folders.append_history(places.lifecycle_dir, {
        "action": "promote", "serving_dir": str(places.serving_dir.resolve()),
        "model_version": candidate.model_version, "registry_version": decision["candidate"].get("registry_version"),
        "previous": {"model_version": champion.model_version if champion else None,
                     "registry_version": previous_version, "archive": str(archived) if archived else None},
        "decision": decision["decision_dir"]})  # the local history keeps the full path
    log.info("model %s now serves from %s (previous kept in %s)", candidate.model_version, places.serving_dir,
             archived)
    return entry


def rollback_champion(*, places: Places) -> dict[str, Any]:
    """Put back the champion that the last promotion (or rollback) of the serving folder replaced."""
    serving = str(places.serving_dir.resolve())
    done = [e for e in folders.history(places.lifecycle_dir)
            if e.get("action") in ("promote", "rollback") and e.get("serving_dir") == serving]
    if not done:
        raise LifecycleError(f"nothing to roll back: no promotion of {places.serving_dir} in "
                             f"{places.lifecycle_dir / folders.HISTORY_FILE}")
    last = done[-1]
    previous = last["previous"]
    if not previous.get("archive"):
        raise LifecycleError(f"the last change of {places.serving_dir} replaced no folder: nothing to put back")
    restored = _load(Path(previous["archive"]))  # a tampered archive is refused like any model
    current = None
    try:
        current = Predictor.from_dir(places.serving_dir)
    except (ArtifactError, OSError) as exc:
        log.warning("the serving folder is not a valid model (%s): replaced anyway", exc)
    staging = folders.staging_copy(Path(previous["archive"]), places.serving_dir)
    archive = places.lifecycle_dir / "archive" / f"{folders.now_stamp()}-{current.model_version if current else 'none'}"
    archived = folders.swap_in(staging, places.serving_dir, archive)
    if places.registry_ready():
        registry.set_alias(registry.CHAMPION, previous.get("registry_version"), uri=places.registry_uri)
    return folders.append_history(places.lifecycle_dir, {
        "action": "rollback", "serving_dir": serving, "model_version": restored.model_version,
        "registry_version": previous.get("registry_version"),
        "previous": {"model_version": current.model_version if current else None,
                     "registry_version": last.get("registry_version"), "archive": str(archived) if archived else None}})


def set_challenger(spec: str | None, *, places: Places, challenger_dir: Path) -> dict[str, Any]:
    """Put the candidate `spec` in the challenger's folder (the service shadows it); None: remove it."""
    archive = places.lifecycle_dir / "archive" / f"{folders.now_stamp()}-challenger"
    places.lifecycle_dir.mkdir(parents=True, exist_ok=True)
    if spec is None:
        if challenger_dir.exists():
            archive.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(challenger_dir), str(archive))
        if places.registry_ready():
            registry.set_alias(registry.CHALLENGER, None, uri=places.registry_uri)
        return folders.append_history(places.lifecycle_dir, {"action": "challenger", "model_version": None,
                                                             "challenger_dir": str(challenger_dir)})
    with tempfile.TemporaryDirectory(dir=places.lifecycle_dir, prefix=".fetch-") as work:
        folder, version = _fetch(spec, places, Path(work))
        predictor = _load(folder)
        if version is None and places.registry_ready():
            version = registry.find_version(predictor.model_version, uri=places.registry_uri)
        folders.swap_in(folders.staging_copy(folder, challenger_dir), challenger_dir, archive)
    if places.registry_ready() and version is not None:
        registry.set_alias(registry.CHALLENGER, version, uri=places.registry_uri)
    return folders.append_history(places.lifecycle_dir, {
        "action": "challenger", "model_version": predictor.model_version, "registry_version": version,
        "challenger_dir": str(challenger_dir)})
