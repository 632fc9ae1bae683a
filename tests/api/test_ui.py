"""The form's pure parts: widgets from the schema, form values → features, gauge and reasons."""

from __future__ import annotations

import functools
import json
import math
import re

import pytest

from api.form_parts import FormRefusal, form_inputs, gauge_html, reasons_markdown, to_features
from api.scoring_service import ScoringService
from api.ui import build_ui
from scoring import schema
from serving.predictor import Predictor
from tests.helpers import VALID

FORM_VALID = (0.45, 0.6, 0.55, "Supérieur", 2.0, True, "Homme", True, 0.0)
NO_AMOUNTS = ("", "", "")  # the negotiated amounts: only with a loaded dossier


def test_form_has_one_radio_per_exclusive_group_and_every_other_feature() -> None:
    items = form_inputs()
    groups = [i for i in items if isinstance(i, schema.ExclusiveGroup)]
    assert sorted(g.name for g in groups) == sorted(g.name for g in schema.EXCLUSIVE_GROUPS)
    in_groups = {f for g in groups for f in g.options.values() if f}
    singles = {i.name for i in items if isinstance(i, schema.UIFeature)}
    assert singles | in_groups == set(schema.UI_FEATURE_NAMES) and not singles & in_groups


def test_form_values_become_the_model_features() -> None:
    assert to_features(FORM_VALID) == {k: float(v) for k, v in VALID.items()}  # no model: the schema's ranges
    other = to_features((0.45, 0.6, 0.55, "Autre", 2.0, False, "Femme", False, 10.0))
    assert other[schema.EDUCATION_HIGHER] == other[schema.EDUCATION_SECONDARY] == 0.0  # "Autre": both 0
    assert (other[schema.GENDER_F], other[schema.GENDER_M]) == (1.0, 0.0)
    assert other[schema.INCOME_WORKING] == other[schema.DOCUMENT_3] == 0.0


HOSTILE = [  # (position, value, words of the French message): refused, never coerced
    (0, 1.5, "Score externe 1 : 1,5 est impossible (la valeur est toujours comprise entre 0 et 1)"),
    (0, -0.05, "Score externe 1"), (0, True, "Score externe 1 : saisir un nombre, par exemple 0,45"),
    (0, "0,5,1", "saisir un nombre, par exemple 0,45 ou 1 200 (reçu '0,5,1')"),
    (0, "abc", "(reçu 'abc')"), (0, [0.5], "saisir un nombre"), (0, float("nan"), "nombre fini"),
    (0, float("inf"), "nombre fini"), (8, -500.0, "Impayé max. auprès d'autres organismes (€) : −500 est impossible"),
    (4, -1.0, "Retraits DAB"), (3, "Doctorat", "Niveau d'études : choisir parmi"), (3, None, "Niveau d'études"),
    (6, "Autre", "Genre : choisir parmi Femme, Homme"), (5, "false", "Salarié : cocher ou décocher la case"),
    (5, "abc", "Salarié"), (5, 2, "Salarié"), (5, float("nan"), "Salarié"), (7, 0.5, "Document n° 3 fourni"),
]


def test_numbers_typed_the_french_way_are_read_as_such(service: ScoringService) -> None:
    bounds = service.validator.bounds
    typed = to_features(("0,45", " 0,6 ", "0.55", "Supérieur", "2", True, "Homme", True, "1 200"), bounds)
    assert typed == {k: float(v) for k, v in VALID.items()} | {schema.BUREAU_OVERDUE_MAX: 1200.0}
    narrow = to_features(FORM_VALID[:8] + ("1\u202f200,5",), bounds)
    assert narrow[schema.BUREAU_OVERDUE_MAX] == 1200.5


def test_an_empty_number_box_is_unknown_and_scored_as_missing(service: ScoringService) -> None:
    features = to_features(("", None, "0,55", "Supérieur", "", True, None, True, "  "), service.validator.bounds)
    for name in (schema.EXT_SOURCE_1, schema.EXT_SOURCE_2, schema.CARD_ATM_DRAWINGS, schema.BUREAU_OVERDUE_MAX):
        assert math.isnan(features[name])
    assert features[schema.GENDER_F] == features[schema.GENDER_M] == 0.0  # gender left unset: both 0


def test_past_what_the_model_has_seen_is_scored_and_flagged_impossible_is_refused(service: ScoringService) -> None:
    bounds = service.validator.bounds
    past = bounds[schema.BUREAU_OVERDUE_MAX].seen_high * 1.5
    features = to_features(FORM_VALID[:8] + (past,), bounds)  # accepted: plausible, only unseen
    assert features[schema.BUREAU_OVERDUE_MAX] == past
    result = service.score(features, request_id="r1", started=0.0, source=schema.SOURCE_FORM)
    assert result.out_of_range == (schema.BUREAU_OVERDUE_MAX,)
    shown = reasons_markdown(result)
    assert shown.startswith("⚠️ **Hors de ce que le modèle a vu**")
    assert "Impayé max. auprès d'autres organismes (€)" in shown and "vérifier ces valeurs" in shown
    assert not service.score(to_features(FORM_VALID, bounds), request_id="r2", started=0.0).out_of_range
    with pytest.raises(FormRefusal) as impossible:
        to_features(("1,3",) + FORM_VALID[1:5] + ("oui",) + FORM_VALID[6:], bounds)
    assert "1,3 est impossible" in str(impossible.value)
    assert impossible.value.fields == (schema.EXT_SOURCE_1, schema.INCOME_WORKING)  # every bad field, marked
    with pytest.raises(FormRefusal) as huge:
        to_features(FORM_VALID[:8] + (1e39,), bounds)
    assert "trop grand pour le modèle" in str(huge.value) and "impossible" not in str(huge.value)


@pytest.mark.parametrize("index, value, words", HOSTILE)
def test_bad_form_values_are_refused_in_french(service: ScoringService, index: int, value: object, words: str) -> None:
    values = list(FORM_VALID)
    values[index] = value
    with pytest.raises(FormRefusal, match=re.escape(words)):
        to_features(values, service.validator.bounds)


def test_the_form_accepts_what_the_api_accepts_and_nothing_else(service: ScoringService) -> None:
    bounds = service.validator.bounds
    high = bounds[schema.BUREAU_OVERDUE_MAX].high  # the API's bound, not the schema's form hint
    assert to_features(FORM_VALID[:-1] + (high,), bounds)[schema.BUREAU_OVERDUE_MAX] == high
    with pytest.raises(FormRefusal):
        to_features(FORM_VALID[:-1] + (high * 1.01,), bounds)
    assert to_features(FORM_VALID[:5] + (1, "Homme", 0, 0.0), bounds)[schema.INCOME_WORKING] == 1.0  # 0/1 as flags


def test_gauge_and_reasons(predictor: Predictor) -> None:
    result = predictor.predict(VALID | {schema.EXT_SOURCE_1: 0.05})
    html = gauge_html(result, predictor.grey_zone)
    top = min(1.0, max(3 * result.threshold, 1.5 * predictor.grey_zone[1], 1.1 * result.score))
    assert f"width:{100 * min(result.score, top) / top:.2f}%" in html and "seuil" in html
    assert ("#dc2626" in html) == (result.prediction == 1)
    text = reasons_markdown(result, {schema.GENDER_F, schema.GENDER_M})
    assert "Ce qui augmente le risque" in text and "Score externe 1 : 0,05" in text
    assert "&#" not in text and "&amp;" not in text  # plain text: no HTML escaping in a Markdown output


def test_blocks_build_with_and_without_a_model(service: ScoringService) -> None:
    with_model = build_ui(service)
    assert any(d.get("api_name") == "predict" for d in with_model.config["dependencies"])
    without = build_ui(ScoringService(None, service.logger, load_error="no folder"))
    assert "no folder" in str(without.config)


def _predict_fn(blocks):
    (fn,) = [f.fn for f in blocks.fns.values() if f.api_name == "predict"]
    return functools.partial(fn, None)  # no gr.Request: called outside a server, access control off


def test_the_predict_event_scores_and_logs_every_call_with_its_input(service: ScoringService, caplog) -> None:
    predict = _predict_fn(build_ui(service))
    out = predict(*FORM_VALID, *NO_AMOUNTS, "")
    score, label, review, gauge, reasons, message, change, facts, request_id, invalid = out
    expected = service.predictor.predict(VALID)
    assert (score, label, message, change) == (f"{100 * expected.score:.2f} %".replace(".", ","),
                                               expected.label, "", "")
    assert "client médian" in facts and len(request_id) == 32
    assert review == (schema.LABEL_REVIEW if expected.review else "—")
    assert "seuil" in gauge and "diminue" in reasons
    refused = [predict(*FORM_VALID[:i], value, *FORM_VALID[i + 1:], *NO_AMOUNTS, "") for i, value, _ in HOSTILE]
    assert all(r[0] == "" and r[5].startswith("**Saisie refusée.**") for r in refused)
    assert invalid == "" and [r[9] for r in refused[:2]] == [schema.EXT_SOURCE_1] * 2  # the field to mark
    service.logger.flush()
    records = [json.loads(line) for line in service.logger.path.read_text().splitlines()]
    assert [r["status"] for r in records] == ["ok"] + ["error"] * len(HOSTILE)
    first = records[1]["input"]  # the input as sent, by field name (groups by their name)
    assert first["EXT_SOURCE_1"] == 1.5 and first["NAME_EDUCATION_TYPE"] == "Supérieur"
    assert records[1 + 3]["input"]["EXT_SOURCE_1"] == "0,5,1"  # a string stays a string
    console = [r for r in caplog.records if r.name == "api.form_events"]  # the console: one line per refusal
    assert len(console) == len(HOSTILE) and all("refused" in r.getMessage() and not r.exc_info for r in console)


def test_the_predict_event_without_a_model(service: ScoringService) -> None:
    blocks = build_ui(ScoringService(None, service.logger, load_error="gone"))
    message = _predict_fn(blocks)(*FORM_VALID, *NO_AMOUNTS, "")[5]
    assert "aucun modèle n'est chargé" in message


def test_the_mounted_app_serves_form_and_api_and_flushes_at_shutdown(service: ScoringService) -> None:
    from fastapi.testclient import TestClient

    from api.app import build_app

    with TestClient(build_app(service)) as client:
        assert "gradio" in client.get("/").text.lower()
        assert client.post("/api/predict", json=VALID).status_code == 200
    assert service.logger._closed  # lifespan shutdown closed (and drained) the log
    assert len(service.logger.path.read_text().splitlines()) == 1
