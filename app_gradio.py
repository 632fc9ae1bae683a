"""Serve the credit-scoring form (Gradio, at /) and the JSON API (/api/predict, /health, /docs) on one port.

usage: python app_gradio.py [--host HOST] [--port PORT] [--model-dir DIR] [--log-path FILE]
Defaults come from the environment: HOST/PORT (0.0.0.0:7860), MODEL_DIR (models/), LOG_PATH
(logs/predictions.log).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from api.app import serve
from api.seed import predict_credit_score
from scoring.cli import add_logging_options, setup_logging

__all__ = ["main", "predict_credit_score"]  # the seed's function, re-exported for its users


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="interface to listen on (env HOST, default 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port (env PORT, default 7860)")
    parser.add_argument("--model-dir", type=Path, help="model artifacts (env MODEL_DIR, default models/)")
    parser.add_argument("--log-path", type=Path, help="prediction log (env LOG_PATH, default logs/predictions.log)")
    add_logging_options(parser, quiet_help="warnings and errors only (not the start-up lines)")
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet, to_stdout=True)  # start-up lines on stdout, as before
    serve(args.host, args.port, args.model_dir, args.log_path)


if __name__ == "__main__":
    main()
