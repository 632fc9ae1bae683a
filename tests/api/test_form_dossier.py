"""The form's dossier events in process: load a dossier, re-evaluate, what-if, refusals in French,
the adviser's decision and the letter; the events' named parameters for gradio_client."""

from __future__ import annotations

import functools
import json

import pytest

from api.form_parts import NO_DOSSIER, form_inputs
from api.scoring_service import ScoringService
from api.ui import build_ui
from scoring import schema

OUTPUTS = ("score", "decision", "review", "gauge", "reasons", "message", "change", "facts", "request_id")


def _events(service: ScoringService) -> dict:
    return {f.api_name: functools.partial(f.fn, None) for f in build_ui(service).fns.values() if f.fn}  # no gr.Request


def _named(out: tuple) -> dict:
    return dict(zip(OUTPUTS, out, strict=True))


def _percent(score: float) -> str:
    return f"{100 * score:.2f} %".replace(".", ",")


def test_loading_a_dossier_fills_the_fields_and_scores_the_full_row(dossier_service: ScoringService) -> None:
    events = _events(dossier_service)
    out = events["load_dossier"]("100002")
    values, shown = out[:len(form_inputs())], _named(out[len(form_inputs()):])
    stored = dossier_service.store.lookup(100002)
    own = dossier_service.predictor.predict_row(stored.row.reshape(1, -1))
    assert shown["score"] == _percent(own.score) and shown["decision"] == own.label
    assert shown["message"] == "" and "Dossier n° 100002" in shown["facts"]
    for words in ("Âge", "Revenu annuel", "Montant du crédit", "Annuité", "Prix du bien", "Ancienneté dans l'emploi",
                  "Situation familiale"):
        assert words in shown["facts"]
    assert values[1] == round(stored.raw[schema.EXT_SOURCE_2], 4)  # the dossier's own values, as shown
    assert values[3] in ("Supérieur", "Secondaire", "Autre") and values[6] in ("Femme", "Homme", None)
    same = _named(events["predict"](*values, "100002"))  # re-evaluated unchanged: the dossier's score
    assert same["score"] == shown["score"] and "Aucun champ modifié" in same["change"]
    records = [json.loads(x) for x in _flushed(dossier_service)]
    assert [(r["source"], r["applicant_id"]) for r in records] == [("dossier", 100002)] * 2


def _flushed(service: ScoringService) -> list[str]:
    service.logger.flush()
    return service.logger.path.read_text(encoding="utf-8").splitlines()


def test_changing_a_field_shows_the_new_decision_and_the_change(dossier_service: ScoringService) -> None:
    events = _events(dossier_service)
    values = list(events["load_dossier"]("100002")[:len(form_inputs())])
    values[1] = 0.05  # Score externe 2 much lower: a riskier applicant
    shown = _named(events["predict"](*values, "100002"))
    what_if = dossier_service.predictor.predict_row(
        dossier_service.store.what_if(dossier_service.store.lookup(100002), {schema.EXT_SOURCE_2: 0.05})
        .reshape(1, -1))
    own = dossier_service.predictor.predict_row(dossier_service.store.lookup(100002).row.reshape(1, -1))
    assert shown["score"] == _percent(what_if.score)
    points = f"{100 * (what_if.score - own.score):+.1f}".replace(".", ",")
    assert f"**{points} points** par rapport au dossier" in shown["change"] and points.startswith("+")
    record = json.loads(_flushed(dossier_service)[-1])
    assert record["source"] == "what-if" and record["input"] == {"SK_ID_CURR": 100002, schema.EXT_SOURCE_2: 0.05}


@pytest.mark.parametrize("number, words", [
    ("abc", "N° de dossier : saisir un nombre entier positif (reçu 'abc')"), ("-3", "nombre entier positif"),
    ("1.5", "nombre entier positif"), ("1", "dossier n° 1 introuvable parmi les clients connus"),
    ("", "saisir le numéro du dossier à charger"),
])
def test_a_bad_dossier_number_is_refused_in_french(dossier_service: ScoringService, number: str, words: str) -> None:
    out = _events(dossier_service)["load_dossier"](number)
    message = _named(out[len(form_inputs()):])["message"]
    assert message.startswith("**Saisie refusée.**") and words in message
    record = json.loads(_flushed(dossier_service)[-1])
    assert record["status"] == "error"


def test_without_a_dossier_the_form_says_the_rest_is_the_median_applicant(service: ScoringService) -> None:
    config = json.dumps(build_ui(service).config, ensure_ascii=False)
    assert NO_DOSSIER in config and "client médian" in NO_DOSSIER
    message = _named(_events(service)["load_dossier"]("100002")[len(form_inputs()):])["message"]
    assert "dossiers ne sont pas disponibles" in message  # no store: said in French, the form still works


def test_the_advisers_decision_and_the_letter_from_the_form(dossier_service: ScoringService) -> None:
    events = _events(dossier_service)
    shown = _named(events["load_dossier"]("100002")[len(form_inputs()):])
    rid = shown["request_id"]
    assert "Motif obligatoire" in events["decide"](rid, "Passer outre le modèle", "")
    assert "Choisir la décision" in events["decide"](rid, None, "")
    assert "évaluez ou chargez d'abord" in events["decide"]("", "Accepter", "")
    done = events["decide"](rid, "Passer outre le modèle", "apport personnel important")
    assert done.startswith("Décision enregistrée") and "contre l'avis du modèle" in done
    decision = [json.loads(x) for x in _flushed(dossier_service) if '"adviser_decision":{' in x][-1]
    assert decision["source"] == "form" and decision["adviser_decision"]["reason"] == "apport personnel important"
    letter = events["letter"](rid)
    assert letter.startswith("<iframe") and "Madame, Monsieur" in letter


def test_the_form_events_have_named_parameters(service: ScoringService) -> None:
    endpoints = build_ui(service).get_api_info()["named_endpoints"]
    names = [p["parameter_name"] for p in endpoints["/predict"]["parameters"]]
    assert names == [item.name for item in form_inputs()] + ["dossier"]
    assert not any(n.startswith("param_") for e in endpoints.values() for n in
                   (p["parameter_name"] for p in e["parameters"]))
    assert [p["parameter_name"] for p in endpoints["/decide"]["parameters"]] == ["request_id", "decision", "reason"]
