"""The form's dossier events in process: load a dossier, re-evaluate, what-if, refusals in French,
the adviser's decision and the letter; the events' named parameters for gradio_client."""

from __future__ import annotations

import functools
import html
import json
import math
import re

import markdown
import pytest

from api.form_parts import AMOUNT_FIELDS, NO_DOSSIER, form_inputs
from api.scoring_service import ScoringService
from api.ui import build_ui
from scoring import schema

OUTPUTS = ("score", "decision", "review", "gauge", "reasons", "message", "change", "facts", "request_id", "invalid")
N_FIELDS, AMOUNTS = len(form_inputs()), len(AMOUNT_FIELDS)


def _events(service: ScoringService) -> dict:
    return {f.api_name: functools.partial(f.fn, None) for f in build_ui(service).fns.values() if f.fn}  # no gr.Request


def _named(out: tuple) -> dict:
    return dict(zip(OUTPUTS, out, strict=True))


def _percent(score: float) -> str:
    return f"{100 * score:.2f} %".replace(".", ",")


def _load(events: dict, number: str, session: object = None) -> tuple[list, list, object, dict]:
    """(the fields, the amounts, the session state, the outputs) after "Charger le dossier"."""
    out = events["load_dossier"](number, session)
    return (list(out[:N_FIELDS]), list(out[N_FIELDS:N_FIELDS + AMOUNTS]), out[N_FIELDS + AMOUNTS],
            _named(out[N_FIELDS + AMOUNTS + 1:]))


def _evaluate(events: dict, fields: list, amounts: list, number: str, session: object) -> dict:
    return _named(events["predict"](*fields, *amounts, number, session))


def test_loading_a_dossier_fills_the_fields_and_scores_the_full_row(dossier_service: ScoringService) -> None:
    events = _events(dossier_service)
    values, amounts, session, shown = _load(events, "100002")
    stored = dossier_service.store.lookup(100002)
    own = dossier_service.predictor.predict_row(stored.row.reshape(1, -1))
    assert shown["score"] == _percent(own.score) and shown["decision"] == own.label
    assert shown["message"] == "" and "Dossier n° 100002" in shown["facts"] and "Dossier n° 100002" in shown["change"]
    for words in ("Âge", "Revenu annuel", "Montant du crédit", "Annuité", "Prix du bien", "Ancienneté dans l'emploi",
                  "Situation familiale"):
        assert words in shown["facts"]
    ext2 = stored.raw[schema.EXT_SOURCE_2]
    assert values[1] == f"{round(ext2, 4)}".replace(".", ",").rstrip("0")  # shown the French way
    assert values[3] in ("Supérieur", "Secondaire", "Autre") and values[6] in ("Femme", "Homme", None)
    assert amounts[0] == f"{round(stored.raw['AMT_CREDIT']):,}".replace(",", "\u202f")
    same = _evaluate(events, values, amounts, "100002", session)  # re-evaluated unchanged: the dossier's score
    assert same["score"] == shown["score"] and "aucun champ modifié" in same["change"]
    records = [json.loads(x) for x in _flushed(dossier_service)]
    assert [(r["source"], r["applicant_id"]) for r in records] == [("dossier", 100002)] * 2


def _flushed(service: ScoringService) -> list[str]:
    service.logger.flush()
    return service.logger.path.read_text(encoding="utf-8").splitlines()


def _row_score(service: ScoringService, number: int, overrides: dict) -> float:
    store = service.store
    return service.predictor.predict_row(store.what_if(store.lookup(number), overrides).reshape(1, -1)).score


def test_changing_a_field_shows_the_new_decision_and_names_the_dossier_and_the_field(
        dossier_service: ScoringService) -> None:
    events = _events(dossier_service)
    values, amounts, session, _ = _load(events, "100002")
    values[1] = "0,05"  # Score externe 2 much lower, typed the French way: a riskier applicant
    shown = _evaluate(events, values, amounts, "100002", session)
    what_if = _row_score(dossier_service, 100002, {schema.EXT_SOURCE_2: 0.05})
    own = dossier_service.predictor.predict_row(dossier_service.store.lookup(100002).row.reshape(1, -1))
    assert shown["score"] == _percent(what_if)
    points = f"{100 * (what_if - own.score):+.1f}".replace(".", ",")
    assert f"**{points} points** par rapport au dossier" in shown["change"] and points.startswith("+")
    assert shown["change"].startswith("**Dossier n° 100002** — champs modifiés : Score externe 2.")
    record = json.loads(_flushed(dossier_service)[-1])
    assert record["source"] == "what-if" and record["input"] == {"SK_ID_CURR": 100002, schema.EXT_SOURCE_2: 0.05}


def test_another_dossier_number_is_never_scored_with_the_loaded_dossiers_fields(
        dossier_service: ScoringService) -> None:
    events = _events(dossier_service)
    values, amounts, session, first = _load(events, "100002")
    mixed = _evaluate(events, values, amounts, "100003", session)  # typed 100003, clicked Évaluer, not Charger
    assert mixed["score"] == mixed["decision"] == "" and mixed["message"].startswith("**Dossier non chargé.**")
    assert "100003" in mixed["message"] and "100002" in mixed["message"] and mixed["invalid"] == "dossier"
    assert "Dossier n° 100002" in mixed["facts"]  # the facts still say whose fields are on screen
    fresh = _evaluate(events, values, amounts, "100002", None)  # no dossier loaded in this session
    assert "aucun dossier n'est chargé" in fresh["message"]
    records = [json.loads(x) for x in _flushed(dossier_service)]
    assert [r["status"] for r in records] == ["ok", "error", "error"]  # nothing scored as 100003
    values3, amounts3, session3, own3 = _load(events, "100003", session)
    assert session3 == {"id": 100003, "facts": own3["facts"]}
    stored = dossier_service.predictor.predict_row(dossier_service.store.lookup(100003).row.reshape(1, -1))
    again = _evaluate(events, values3, amounts3, "100003", session3)
    assert again["score"] == own3["score"] == _percent(stored.score)


def test_unknown_values_of_a_dossier_are_kept_unknown_and_a_cleared_field_becomes_unknown(
        dossier_service: ScoringService) -> None:
    events = _events(dossier_service)
    store = dossier_service.store
    number = next(n for n in range(100002, 100400) if store.lookup(n) is not None
                  and store.lookup(n).raw.get(schema.EXT_SOURCE_1) is not None
                  and math.isfinite(store.lookup(n).raw[schema.EXT_SOURCE_1]))
    values, amounts, session, shown = _load(events, str(number))
    values[0] = ""  # the adviser clears Score externe 1: unknown
    cleared = _evaluate(events, values, amounts, str(number), session)
    assert cleared["score"] == _percent(_row_score(dossier_service, number, {schema.EXT_SOURCE_1: math.nan}))
    assert "Score externe 1 : inconnu" in cleared["reasons"] or "Score externe 1" not in cleared["reasons"]
    record = json.loads(_flushed(dossier_service)[-1])
    assert record["source"] == "what-if" and record["input"][schema.EXT_SOURCE_1] is None


def test_the_negotiated_amounts_are_changed_on_the_form_and_shown_as_scored(dossier_service: ScoringService) -> None:
    events = _events(dossier_service)
    values, amounts, session, _ = _load(events, "100002")
    own_credit = dossier_service.store.lookup(100002).raw["AMT_CREDIT"]
    amounts[0] = "150 000"
    shown = _evaluate(events, values, amounts, "100002", session)
    assert shown["score"] == _percent(_row_score(dossier_service, 100002, {"AMT_CREDIT": 150000.0}))
    assert "Montant du crédit (€) : **150\u202f000** (évalué ; dossier : " in shown["facts"]
    assert f"{round(own_credit):,}".replace(",", "\u202f") in shown["facts"]
    assert "Montant du crédit (€)" in shown["change"]
    amounts[0] = "-5"
    refused = _evaluate(events, values, amounts, "100002", session)
    assert "Montant du crédit (€) : −5 est impossible" in refused["message"] and refused["invalid"] == "AMT_CREDIT"
    without = _evaluate(events, values, ["150 000", "", ""], "", None)  # no dossier: amounts are refused, said why
    assert "chargé" in without["message"] and without["invalid"] == "AMT_CREDIT"


@pytest.mark.parametrize("number, words", [
    ("abc", "N° de dossier : saisir un nombre entier positif (reçu 'abc')"), ("-3", "nombre entier positif"),
    ("1.5", "nombre entier positif"), ("", "saisir le numéro du dossier à charger"),
])
def test_a_bad_dossier_number_is_refused_in_french(dossier_service: ScoringService, number: str, words: str) -> None:
    message = _load(_events(dossier_service), number)[3]["message"]
    assert message.startswith("**Saisie refusée.**") and words in message.replace("\\", "")
    record = json.loads(_flushed(dossier_service)[-1])
    assert record["status"] == "error"


def test_an_unknown_dossier_is_not_an_input_error(dossier_service: ScoringService) -> None:
    shown = _load(_events(dossier_service), "1")[3]
    assert shown["message"].startswith("**Dossier introuvable.** Le dossier n° 1 ne figure pas")
    assert shown["facts"] == NO_DOSSIER and shown["invalid"] == "dossier"  # text, never an update object


@pytest.mark.parametrize("typed", ["**gras** _x_", "<img src=x onerror=alert(1)>", "[lien](http://x)"])
def test_what_the_user_typed_is_shown_as_text(dossier_service: ScoringService, typed: str) -> None:
    message = _load(_events(dossier_service), typed)[3]["message"]
    rendered = markdown.markdown(message)
    assert "<img" not in rendered and "<strong>gras" not in rendered and "<em>" not in rendered
    assert "<a " not in rendered and html.unescape(re.sub(r"<[^>]+>", "", rendered)).count(typed[:6]) == 1


def test_without_a_dossier_the_form_says_the_rest_is_the_median_applicant(service: ScoringService) -> None:
    config = json.dumps(build_ui(service).config, ensure_ascii=False, default=str)
    assert NO_DOSSIER in config and "client médian" in NO_DOSSIER
    message = _load(_events(service), "100002")[3]["message"]
    assert "dossiers ne sont pas disponibles" in message  # no store: said in French, the form still works


def test_one_decision_per_evaluation_and_the_letter_tells_the_advisers_reason(dossier_service: ScoringService) -> None:
    events = _events(dossier_service)
    shown = _load(events, "100002")[3]
    rid = shown["request_id"]
    assert "Motif obligatoire" in events["decide"](rid, "Passer outre le modèle", "", False)
    assert "Choisir la décision" in events["decide"](rid, None, "", False)
    assert "évaluez ou chargez d'abord" in events["decide"]("", "Accepter", "", False)
    done = events["decide"](rid, "Passer outre le modèle", "Revenus instables, CDD de 3 mois", False)
    assert done.startswith("Décision enregistrée") and "contre l'avis du modèle" in done
    again = events["decide"](rid, "Accepter", "", False)  # a second decision on the same evaluation
    assert "déjà enregistrée" in again and "Remplacer" in again
    decisions = [json.loads(x) for x in _flushed(dossier_service) if '"adviser_decision":{' in x]
    assert len(decisions) == 1 and decisions[0]["source"] == "form"
    assert decisions[0]["adviser_decision"]["reason"] == "Revenus instables, CDD de 3 mois"
    letter = html.unescape(events["letter"](rid))
    assert letter.startswith("<iframe") and "Madame, Monsieur" in letter
    assert "Revenus instables, CDD de 3 mois" in letter  # the adviser's reason, not the model's factors
    assert "ont le plus pesé" not in letter and "joué en sa faveur" not in letter
    replaced = events["decide"](rid, "Accepter" if "suite favorable" in letter else "Refuser", "revu", True)
    assert "remplace la décision précédente" in replaced
    lines = [json.loads(x) for x in _flushed(dossier_service) if '"adviser_decision":{' in x]
    assert len(lines) == 2 and lines[-1]["adviser_decision"]["replaces"]["reason"] == "Revenus instables, CDD de 3 mois"


def test_the_form_events_have_named_parameters(service: ScoringService) -> None:
    endpoints = build_ui(service).get_api_info()["named_endpoints"]
    names = [p["parameter_name"] for p in endpoints["/predict"]["parameters"]]
    assert names == [item.name for item in form_inputs()] + list(AMOUNT_FIELDS) + ["dossier"]
    assert not any(n.startswith("param_") for e in endpoints.values() for n in
                   (p["parameter_name"] for p in e["parameters"]))
    returned = [r["label"] for r in endpoints["/predict"]["returns"]]
    assert not any(label.startswith("value_") for label in returned), returned


def test_the_dossiers_facts_are_shown_as_text_in_the_registrys_french() -> None:
    """A stored text is data: an odd value in the store never becomes Markdown or HTML; a known category
    reads as the feature registry's vocabulary says (« union libre », not a second table's wording)."""
    from api.form_parts import facts_markdown

    odd = facts_markdown(1, {"NAME_FAMILY_STATUS": "**gras** <img src=x onerror=alert(1)>", "AMT_CREDIT": 406597.5})
    assert "<img" not in odd and "**gras**" not in odd and "&lt;img" in odd
    assert f"Montant du crédit (€) : 406{chr(0x202f)}598" in odd
    assert "Situation familiale : union libre" in facts_markdown(1, {"NAME_FAMILY_STATUS": "Civil marriage"})
