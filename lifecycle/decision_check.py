"""Did the gate promote this model folder? The deploy's check (standard library only: it runs before any install).

A folder passes when its `promotion.json` is listed in `manifest.json`, every file the manifest lists
matches its sha256, and the decision promoted (or a recorded `--force` promoted) this very model: the
decision's `files` (the sha256 of every file of the candidate folder: the UBJSON model the service loads,
the pickle, features, threshold, reference, report, ONNX export...) are exactly the manifest's, its
`model_sha256` is the pickle's and its `model_version` the manifest's. A file swapped after the promotion,
even with its checksum rewritten into the manifest, or a file added to the folder since, fails the check.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

PROMOTION_FILE = "promotion.json"  # = scoring.schema.PROMOTION_FILE (this module imports nothing of ours)
MANIFEST_FILE = "manifest.json"
MODEL_FILE = "best_model.pkl"
SHIPPED_OUTCOMES = ("promoted", "forced")


class NotPromoted(RuntimeError):
    """The folder carries no valid decision of the gate for its model."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_promoted(model_dir: Path) -> dict:
    """The decision of `model_dir` when it promoted this model; raises `NotPromoted` saying why not."""
    model_dir = Path(model_dir)
    try:
        manifest = json.loads((model_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        decision = json.loads((model_dir / PROMOTION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotPromoted(f"{model_dir}: no readable {MANIFEST_FILE} / {PROMOTION_FILE} ({exc}); run "
                          f"`python promote.py CANDIDATE` (docs/lifecycle.md)") from exc
    files = manifest.get("files") or {}
    if PROMOTION_FILE not in files:
        raise NotPromoted(f"{model_dir}: {PROMOTION_FILE} is not listed in {MANIFEST_FILE}")
    for name, expected in files.items():
        path = model_dir / name
        if not path.is_file() or _sha256(path) != expected:
            raise NotPromoted(f"{model_dir}: {name} is missing or does not match its checksum")
    candidate = decision.get("candidate") or {}
    if decision.get("outcome") not in SHIPPED_OUTCOMES:
        raise NotPromoted(f"{model_dir}: the gate's decision is {decision.get('outcome')!r}, not a promotion")
    bound = candidate.get("files")
    if not isinstance(bound, dict):
        raise NotPromoted(f"{model_dir}: the decision does not list the checksums of the folder's files (a decision "
                          f"of an older form): promote the model again")
    shipped = {name: sha for name, sha in files.items() if name != PROMOTION_FILE}
    for name in sorted(shipped.keys() | bound.keys()):
        if shipped.get(name) != bound.get(name):
            what = "is not the file" if name in shipped and name in bound else \
                "was added after" if name in shipped else "is missing since"
            raise NotPromoted(f"{model_dir}: {name} {what} the gate's decision promoted")
    if candidate.get("model_sha256") != files.get(MODEL_FILE):
        raise NotPromoted(f"{model_dir}: the decision promoted another model file than {MODEL_FILE}")
    if candidate.get("model_version") != manifest.get("model_version"):
        raise NotPromoted(f"{model_dir}: the decision promoted model {candidate.get('model_version')}, the folder "
                          f"holds {manifest.get('model_version')}")
    return decision
