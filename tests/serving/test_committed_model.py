"""The committed model in models/ (when present) works with the serving code as the fixture does."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scoring import config, schema
from serving.predictor import Predictor
from serving.validation import Validator
from tests.helpers import VALID


@pytest.fixture(scope="module")
def committed() -> Predictor:
    if not (config.MODELS_DIR / schema.MANIFEST_FILE).is_file():
        pytest.skip(f"no committed model in {config.MODELS_DIR} (run `python train.py`)")
    return Predictor.from_dir(config.MODELS_DIR)


def test_it_loads_and_knows_the_form_features(committed: Predictor) -> None:
    gender = {schema.GENDER_F, schema.GENDER_M}
    assert set(schema.UI_FEATURE_NAMES) - gender <= set(committed.features)
    assert not any(f.startswith("CODE_GENDER_") for f in committed.features)  # recorded, never a model input
    assert committed.artifacts.metrics["excluded_features"] == ["CODE_GENDER_*"]
    assert "gender" in committed.artifacts.metrics["fairness"]  # still measured
    template = committed.artifacts.reference["template"]
    assert set(committed.features) <= set(template)
    assert template.get("DAYS_BIRTH", -1) is None or template.get("DAYS_BIRTH", -1) < 0
    assert committed.grey_zone[0] <= committed.threshold <= committed.grey_zone[1]


def test_the_form_example_is_valid_and_scored(committed: Predictor) -> None:
    validator = Validator(committed.features, committed.artifacts.reference["ranges"])
    features = validator.parse(json.dumps(VALID).encode())
    result = committed.predict(validator.scored(features))
    assert 0 < result.score < 1 and result.label == schema.label_for(result.score, committed.threshold)
    assert result.reasons_up or result.reasons_down


def test_monotone_external_scores_and_additive_reasons(committed: Predictor) -> None:
    rng = np.random.default_rng(0)
    scored = {k: v for k, v in VALID.items() if k in committed.index}  # gender is not a model input
    rows = [scored | {schema.EXT_SOURCE_1: a, schema.EXT_SOURCE_2: b, schema.EXT_SOURCE_3: c}
            for a, b, c in rng.uniform(0.05, 0.85, size=(100, 3))]
    matrix = np.concatenate([committed.row(r) for r in rows])
    for feature in (schema.EXT_SOURCE_1, schema.EXT_SOURCE_2, schema.EXT_SOURCE_3):
        lower = matrix.copy()
        lower[:, committed.index[feature]] *= 0.5
        assert (committed.score_matrix(lower) >= committed.score_matrix(matrix)).all()
    contribs = committed.contributions(matrix)
    np.testing.assert_allclose(contribs.sum(axis=1), committed.margin(matrix), atol=1e-4)
