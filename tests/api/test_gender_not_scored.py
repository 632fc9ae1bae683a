"""A model without gender (the default since issue 18): gender is still accepted, checked and logged
for fairness monitoring at every door, and never changes a score."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import api.seed
import app_gradio
from api.app import gated
from api.logger import PredictionLogger
from api.rest import create_api
from api.scoring_service import ScoringService
from api.ui import build_ui
from scoring import schema
from serving.predictor import Predictor
from tests.fixture_model import build_model_dir
from tests.helpers import VALID

GENDER = (schema.GENDER_F, schema.GENDER_M, "CODE_GENDER_XNA")


@pytest.fixture(scope="module")
def genderless(tmp_path_factory: pytest.TempPathFactory) -> Predictor:
    return Predictor.from_dir(build_model_dir(tmp_path_factory.mktemp("genderless"), exclude=GENDER))


@pytest.fixture()
def svc(genderless: Predictor, tmp_path: Path):
    service = ScoringService(genderless, PredictionLogger(tmp_path / "p.log"))
    yield service
    service.logger.close()


def test_gender_is_accepted_logged_and_never_scored(svc: ScoringService, monkeypatch) -> None:
    assert not set(GENDER) & set(svc.predictor.features)
    woman, man = VALID | {schema.GENDER_F: 1, schema.GENDER_M: 0}, VALID | {schema.GENDER_F: 0, schema.GENDER_M: 1}
    without = {k: v for k, v in VALID.items() if k not in GENDER}
    with TestClient(gated(create_api(svc))) as client:
        scores = [client.post("/api/predict", json=body).json() for body in (woman, man, without)]
        assert len({s["score"] for s in scores}) == 1
        assert not any(r["feature"] in GENDER for s in scores for r in s["reasons"]["up"] + s["reasons"]["down"])
        both = client.post("/api/predict", json=VALID | {schema.GENDER_F: 1, schema.GENDER_M: 1})
        assert both.status_code == 422  # still checked: one option at most
        assert client.post("/api/predict", json=VALID | {schema.GENDER_F: 0.5}).status_code == 422
    svc.logger.flush()
    logged = [json.loads(x)["input"] for x in svc.logger.path.read_text().splitlines()]
    assert logged[0][schema.GENDER_F] == 1 and logged[1][schema.GENDER_M] == 1  # recorded for fairness monitoring
    monkeypatch.setattr(api.seed, "loaded_service", lambda: svc)
    args = list(VALID.values())
    assert app_gradio.predict_credit_score(*args)[0] == pytest.approx(scores[0]["score"], abs=1e-6)
    args[7], args[8] = 1, 0
    assert app_gradio.predict_credit_score(*args)[0] == pytest.approx(scores[0]["score"], abs=1e-6)


def test_the_form_says_gender_is_recorded_for_fairness_only(svc: ScoringService) -> None:
    blocks = build_ui(svc)
    config = json.dumps(blocks.config, ensure_ascii=False, default=str)
    assert "suivi de l'équité" in config and "n'entre pas dans la décision" in config
    predict = next(functools.partial(f.fn, None) for f in blocks.fns.values() if f.api_name == "predict")
    shown = [predict(0.45, 0.6, 0.55, "Supérieur", 2.0, True, gender, True, 0.0, "", "", "", "")
             for gender in ("Femme", "Homme", None)]
    assert len({s[0] for s in shown}) == 1 and all(s[5] == "" for s in shown)
    assert not any(word in s[4] for s in shown for word in ("Femme", "Homme"))
