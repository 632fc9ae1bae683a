"""Write a model folder's report again with the current report code, without retraining.

usage: python -m scoring.report_rerender [--model-dir DIR]

The figures come from the folder's own `metrics.json` and `threshold.json`, the charts from the
images embedded in its current report (the report is self-contained); the manifest's checksum of
the report is updated after the model's files are verified. The model version does not change (it
does not depend on the report). For a report whose wording changed after the model was trained.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from pathlib import Path

from scoring import config
from scoring.artifacts import ArtifactError, sha256_of, verify_manifest
from scoring.report import build_report
from scoring.schema import MANIFEST_FILE, METRICS_FILE, REPORT_FILE, THRESHOLD_FILE

_IMAGE = re.compile(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">')


def rerender(model_dir: Path) -> Path:
    """Rewrite `model_dir`'s report with the current code; returns its path. Raises ArtifactError."""
    model_dir = Path(model_dir)
    manifest = verify_manifest(model_dir)
    path = model_dir / REPORT_FILE
    if REPORT_FILE not in manifest.get("files", {}):
        raise ArtifactError(f"{model_dir} has no report to write again (train it with python train.py)")
    images = {alt: base64.b64decode(data) for alt, data in _IMAGE.findall(path.read_text(encoding="utf-8"))}
    metrics = json.loads((model_dir / METRICS_FILE).read_text(encoding="utf-8"))
    threshold = json.loads((model_dir / THRESHOLD_FILE).read_text(encoding="utf-8"))
    path.write_text(build_report(metrics, threshold, images, manifest["model_version"]), encoding="utf-8")
    manifest["files"][REPORT_FILE] = sha256_of(path)
    (model_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False)
                                           + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=config.MODELS_DIR,
                        help="the model folder (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        path = rerender(args.model_dir)
    except (ArtifactError, OSError, ValueError) as exc:
        print(f"report_rerender: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
