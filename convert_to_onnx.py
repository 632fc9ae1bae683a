"""Convert the trained model to ONNX (onnxmltools) and write it only when it scores like XGBoost.

Parity check first: rows probing every split of the model (just below, at and just above each
threshold, about 10 % missing cells) plus rows like the training data; max |Δ probability| must be
at most 1e-5 and no decision may flip at the threshold. Then <model-dir>/best_model.onnx is written
and recorded in manifest.json (checksum verified at load; the model version does not change).

exit codes: 0 written, 1 parity refused (nothing written), 2 unusable model folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scoring import config
from scoring.artifacts import ArtifactError
from scoring.cli import add_logging_options, setup_logging
from scoring.onnx_export import N_PROBING_ROWS, ParityError, export_onnx
from scoring.trees import UnsupportedModel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=None, help="model artifacts (default: MODEL_DIR or models/)")
    parser.add_argument("--rows", type=int, default=N_PROBING_ROWS,
                        help="split-probing rows of the parity check (default: %(default)s, at least 1000)")
    add_logging_options(parser)
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet)
    if args.rows < 1000:
        parser.error("--rows must be at least 1000")
    model_dir = args.model_dir or config.model_dir()
    try:
        onnx_path = Path(model_dir) / "best_model.onnx"
        before = onnx_path.stat().st_mtime_ns if onnx_path.is_file() else None
        path, report = export_onnx(model_dir, n_rows=args.rows)
    except ParityError as exc:
        print(f"convert_to_onnx.py: refused, nothing written: {exc.report.summary()}", file=sys.stderr)
        return 1
    except (ArtifactError, UnsupportedModel, OSError) as exc:
        print(f"convert_to_onnx.py: error: {exc}", file=sys.stderr)
        return 2
    print(f"parity: {report.summary()}")
    if before is not None and path.stat().st_mtime_ns == before:
        print(f"{path} is up to date (same model, same bytes): nothing rewritten")
    else:
        print(f"wrote {path} ({path.stat().st_size:,} bytes), recorded in {Path(model_dir) / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
