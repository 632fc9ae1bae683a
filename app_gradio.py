"""Serve the credit-scoring form (Gradio, at /) and the JSON API (/api/predict, /health, /docs) on one port.

usage: python app_gradio.py [--host HOST] [--port PORT] [--model-dir DIR] [--log-path FILE]
Defaults come from the environment: HOST/PORT (0.0.0.0:7860), MODEL_DIR (models/), LOG_PATH
(logs/predictions.log).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from api.server import get_service, serve
from scoring.schema import UI_FEATURE_NAMES, label_for


def predict_credit_score(
    ext_source_1: float,
    ext_source_2: float,
    ext_source_3: float,
    education_higher: float,
    education_secondary: float,
    card_atm_drawings_mean: float,
    income_working: float,
    gender_female: float,
    gender_male: float,
    flag_document_3: float,
    bureau_overdue_max: float,
) -> tuple[float, str]:
    """The seed's function: the 11 form features (schema order) → (score, label). Not logged."""
    values = (ext_source_1, ext_source_2, ext_source_3, education_higher, education_secondary,
              card_atm_drawings_mean, income_working, gender_female, gender_male, flag_document_3,
              bureau_overdue_max)
    predictor = get_service().require_model()[0]
    score = predictor.score_values(UI_FEATURE_NAMES, values)
    return score, label_for(score, predictor.threshold)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="interface to listen on (env HOST, default 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port (env PORT, default 7860)")
    parser.add_argument("--model-dir", type=Path, help="model artifacts (env MODEL_DIR, default models/)")
    parser.add_argument("--log-path", type=Path, help="prediction log (env LOG_PATH, default logs/predictions.log)")
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.model_dir, args.log_path)


if __name__ == "__main__":
    main()
