"""What a model folder must hold to be served: sane values, confined paths, an optional signature.

`scoring.artifacts` verifies checksums; this module checks what checksums cannot: a manifest that
an attacker re-hashed still names files outside the folder (refused), a threshold of NaN, 2.0 or
-1 (refused: it would accept or refuse everyone), a grey zone out of order, a feature list that is
not the model's. JSON with NaN or Infinity is refused wherever it is read.

Signed manifests: when `MANIFEST_KEY` (or `MANIFEST_KEY_FILE`, a file the deployment provides
outside the model folder) is set, `manifest.json` must carry `"signature"`, the HMAC-SHA256 of its
other keys (canonical JSON) under that key; `write_artifacts` signs when the key is set. Without a
key nothing is signed or required (the README's commands stay as they are).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from scoring.config import settings

SIGNATURE_KEY = "signature"


class ArtifactValueError(ValueError):
    """An artifact holds a value that makes no sense (the message names the file and the value)."""


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def loads_strict(text: str) -> Any:
    """`json.loads` refusing NaN, Infinity and -Infinity."""
    return json.loads(text, parse_constant=_no_constant)


def confined_name(name: Any) -> str:
    """`name` when it is a plain file name inside the folder (no separator, no `..`, not absolute)."""
    if not isinstance(name, str) or not name or name in (".", ".."):
        raise ArtifactValueError(f"manifest entry {name!r} is not a file name")
    if (len(PurePosixPath(name).parts) != 1 or len(PureWindowsPath(name).parts) != 1 or "\x00" in name
            or name.startswith(".")):
        raise ArtifactValueError(f"manifest entry {name!r} points outside the model folder")
    return name


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_threshold(doc: Any, where: str) -> None:
    """threshold in (0, 1); grey zone (when given) with low <= threshold <= high inside [0, 1]; costs > 0."""
    if not isinstance(doc, dict):
        raise ArtifactValueError(f"{where} is not a JSON object")
    t = doc.get("threshold")
    if not _finite(t) or not 0.0 < t < 1.0:
        raise ArtifactValueError(f"{where}: threshold {t!r} must be a number strictly between 0 and 1")
    zone = doc.get("grey_zone")
    if zone is not None:
        if not isinstance(zone, dict) or not _finite(zone.get("low")) or not _finite(zone.get("high")):
            raise ArtifactValueError(f"{where}: grey_zone must be {{\"low\": number, \"high\": number}}")
        if not 0.0 <= zone["low"] <= t <= zone["high"] <= 1.0:
            raise ArtifactValueError(f"{where}: grey_zone {zone['low']}..{zone['high']} must hold the threshold "
                                     f"{t} and lie in [0, 1] (low <= threshold <= high)")
    for key in ("cost_fn", "cost_fp"):
        if key in doc and (not _finite(doc[key]) or doc[key] <= 0):
            raise ArtifactValueError(f"{where}: {key} {doc[key]!r} must be a positive number")


def check_features(features: list[str], model_features: list[str], where: str) -> None:
    """A non-empty list of distinct names, equal (same order) to the model's."""
    if not features:
        raise ArtifactValueError(f"{where} lists no feature")
    if len(set(features)) != len(features):
        raise ArtifactValueError(f"{where} lists a feature twice")
    if model_features != features:
        raise ArtifactValueError(f"{where} lists {len(features)} features but the model was trained on "
                                 f"{len(model_features)} in another order or with other names")


def check_reference(doc: Any, features: list[str], where: str) -> None:
    """`reference.json`: an object whose template values are finite numbers (or null: missing)."""
    if not isinstance(doc, dict):
        raise ArtifactValueError(f"{where} is not a JSON object")
    template = doc.get("template", {})
    if not isinstance(template, dict):
        raise ArtifactValueError(f"{where}: template is not an object")
    for name, value in template.items():  # it may hold more than the model's features (excluded ones)
        if value is not None and not _finite(value):
            raise ArtifactValueError(f"{where}: template value of {name} is {value!r}, not a finite number")


# --- signature ------------------------------------------------------------------------------------

def manifest_key() -> bytes | None:
    """The HMAC key: `MANIFEST_KEY_FILE` (its bytes, stripped) or `MANIFEST_KEY`; None when neither is set."""
    current = settings()
    if current.manifest_key_file is not None:
        key = Path(current.manifest_key_file).read_bytes().strip()
    else:
        key = current.manifest_key.get_secret_value().encode() if current.manifest_key is not None else b""
    return key or None


def signature_of(manifest: dict[str, Any], key: bytes) -> str:
    body = {k: v for k, v in manifest.items() if k != SIGNATURE_KEY}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def sign(manifest: dict[str, Any], key: bytes | None = None) -> dict[str, Any]:
    """`manifest` with its signature when a key is set (given or from the environment), else unsigned."""
    key = key if key is not None else manifest_key()
    unsigned = {k: v for k, v in manifest.items() if k != SIGNATURE_KEY}
    return unsigned if key is None else {**unsigned, SIGNATURE_KEY: signature_of(unsigned, key)}


def check_signature(manifest: dict[str, Any], where: str, key: bytes | None = None) -> None:
    """Refuse an unsigned or wrongly signed manifest when a key is set (given or from the environment)."""
    key = key if key is not None else manifest_key()
    if key is None:
        return
    given = manifest.get(SIGNATURE_KEY)
    if not isinstance(given, str) or not hmac.compare_digest(given, signature_of(manifest, key)):
        raise ArtifactValueError(f"{where} is {'not signed' if given is None else 'wrongly signed'} with the "
                                 "key of MANIFEST_KEY / MANIFEST_KEY_FILE (altered, or signed with another key)")
