"""The form's pure parts: widgets from the schema, form values → features, gauge and reasons."""

from __future__ import annotations

import gradio as gr
import pytest

from api.predictor import Predictor
from api.service import Service
from api.ui import build_ui, form_inputs, gauge_html, reasons_markdown, to_features
from scoring import schema
from tests.api.conftest import VALID

FORM_VALID = (0.45, 0.6, 0.55, "Supérieur", 2.0, True, "Homme", True, 0.0)


def test_form_has_one_radio_per_exclusive_group_and_every_other_feature() -> None:
    items = form_inputs()
    groups = [i for i in items if isinstance(i, schema.ExclusiveGroup)]
    assert sorted(g.name for g in groups) == sorted(g.name for g in schema.EXCLUSIVE_GROUPS)
    in_groups = {f for g in groups for f in g.options.values() if f}
    singles = {i.name for i in items if isinstance(i, schema.UIFeature)}
    assert singles | in_groups == set(schema.UI_FEATURE_NAMES) and not singles & in_groups


def test_form_values_become_the_model_features() -> None:
    assert to_features(FORM_VALID) == {k: float(v) for k, v in VALID.items()}
    other = to_features((0.45, 0.6, 0.55, "Autre", 2.0, False, "Femme", False, 10.0))
    assert other[schema.EDUCATION_HIGHER] == other[schema.EDUCATION_SECONDARY] == 0.0  # "Autre": both 0
    assert (other[schema.GENDER_F], other[schema.GENDER_M]) == (1.0, 0.0)
    assert other[schema.INCOME_WORKING] == other[schema.DOCUMENT_3] == 0.0


@pytest.mark.parametrize("index, value, words", [(0, 1.5, "Score externe 1"), (8, None, "Impayé"),
                                                 (3, "Doctorat", "Niveau d'études")])
def test_bad_form_values_raise_a_french_message(index: int, value: object, words: str) -> None:
    values = list(FORM_VALID)
    values[index] = value
    with pytest.raises(gr.Error, match=words):
        to_features(values)


def test_gauge_and_reasons(predictor: Predictor) -> None:
    result = predictor.predict(VALID | {schema.EXT_SOURCE_1: 0.05})
    html = gauge_html(result, predictor.grey_zone)
    top = min(1.0, max(3 * result.threshold, 1.5 * predictor.grey_zone[1], 1.1 * result.score))
    assert f"width:{100 * min(result.score, top) / top:.2f}%" in html and "seuil" in html
    assert ("#dc2626" in html) == (result.prediction == 1)
    text = reasons_markdown(result, {schema.GENDER_F, schema.GENDER_M})
    assert "Ce qui augmente le risque" in text and "Score externe 1 : 0,05" in text


def test_blocks_build_with_and_without_a_model(service: Service) -> None:
    with_model = build_ui(service)
    assert any(d.get("api_name") == "predict" for d in with_model.config["dependencies"])
    without = build_ui(Service(None, service.logger, load_error="no folder"))
    assert "no folder" in str(without.config)


def _predict_fn(blocks: gr.Blocks):
    (fn,) = [f.fn for f in blocks.fns.values() if f.api_name == "predict"]
    return fn


def test_the_predict_event_scores_and_logs(service: Service) -> None:
    score, label, review, gauge, reasons = _predict_fn(build_ui(service))(*FORM_VALID)
    expected = service.predictor.predict(VALID)
    assert (score, label) == (round(expected.score, 4), expected.label)
    assert review == (schema.LABEL_REVIEW if expected.review else "—")
    assert "seuil" in gauge and "diminue" in reasons
    with pytest.raises(gr.Error):
        _predict_fn(build_ui(service))(*FORM_VALID[:-1], -5.0)
    service.logger.flush()
    statuses = [line.split('"status":"')[1][:2] for line in service.logger.path.read_text().splitlines()]
    assert statuses == ["ok", "er"]


def test_the_predict_event_without_a_model(service: Service) -> None:
    blocks = build_ui(Service(None, service.logger, load_error="gone"))
    with pytest.raises(gr.Error, match="Aucun modèle"):
        _predict_fn(blocks)(*FORM_VALID)


def test_the_mounted_app_serves_form_and_api_and_flushes_at_shutdown(service: Service) -> None:
    from fastapi.testclient import TestClient

    from api.server import build_app

    with TestClient(build_app(service)) as client:
        assert "gradio" in client.get("/").text.lower()
        assert client.post("/api/predict", json=VALID).status_code == 200
    assert service.logger._closed  # lifespan shutdown closed (and drained) the log
    assert len(service.logger.path.read_text().splitlines()) == 1
