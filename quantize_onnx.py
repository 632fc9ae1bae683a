"""Try quantising the ONNX model and report what each variant does to size, speed, parity and decisions.

Variants: ONNX Runtime's quantize_dynamic (int8) and quantize_static (from its op registries),
float16 thresholds and leaf values, float16 leaf values. Each is scored on the ONNX parity rows
(every split probed, ~10 % missing, plus rows like training) against the float32 model.
A quantised file (<model-dir>/best_model.quant.onnx) is written only when it flips no decision and
is smaller; otherwise nothing is written.

exit codes: 0 measured (whether or not a file was written), 2 no usable model or ONNX export.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scoring import config
from scoring.artifacts import ArtifactError
from scoring.cli import add_logging_options, setup_logging
from scoring.onnx_quantize import run_quantisation


def _cell(value: float | int | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=None, help="model artifacts (default: MODEL_DIR or models/)")
    parser.add_argument("--rows", type=int, default=10_000, help="split-probing rows (default: %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="measure only; never write a file")
    add_logging_options(parser)
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet)
    if args.rows < 1000:
        parser.error("--rows must be at least 1000")
    try:
        variants, written = run_quantisation(args.model_dir or config.model_dir(), n_rows=args.rows,
                                             write=not args.dry_run)
    except (ArtifactError, FileNotFoundError, OSError) as exc:
        print(f"quantize_onnx.py: error: {exc}", file=sys.stderr)
        return 2
    print("| variant | changes the trees | size (bytes) | gzip (bytes) | one row p50 (µs) | max abs Δp | "
          "decision flips | note |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for v in variants:
        print(f"| {v.name} | {'yes' if v.applies else 'no'} | {v.size_bytes:,} | {v.gzip_bytes:,} | "
              f"{_cell(v.row_p50_us, '.1f')} | {_cell(v.max_abs_diff, '.3g')} | "
              f"{_cell(v.decision_flips, 'd')}{'' if v.decision_flips is None else f' / {v.rows:,}'} | {v.note} |")
    if written:
        print(f"\nwrote {written}: flips no decision and is smaller")
    else:
        print("\nno quantised file written: no variant both changes the model and keeps every decision "
              "while being smaller")
    return 0


if __name__ == "__main__":
    sys.exit(main())
