"""A refused "Charger le dossier" empties the form of the previous applicant: the fields go back to the
median applicant, the amounts and the loaded dossier are cleared, the dossier field is marked and a
French message says so; the next "Évaluer" neither shows nor sends anything of the first applicant."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from api.auth import Access
from api.form_events import CLEARED, NO_IDENTITY
from api.form_parts import NO_DOSSIER
from api.scoring_service import ScoringService
from api.ui import build_ui
from tests.api.test_form_dossier import AMOUNTS, N_FIELDS, _evaluate, _events, _flushed, _load, _named

FIRST = 100002


def _initial(service: ScoringService) -> list:
    """The 11 inputs' values when the form opens."""
    blocks = build_ui(service)
    load = next(f for f in blocks.fns.values() if f.api_name == "load_dossier")
    return [c.value for c in load.outputs[:N_FIELDS]]


def _records(service: ScoringService) -> list[dict]:
    return [json.loads(x) for x in _flushed(service)]


@pytest.mark.parametrize("bad", ["abc", "1", "", "  ", "10000000000"])
def test_load_evaluate_then_a_refused_load_then_evaluate(dossier_service: ScoringService, bad: str) -> None:
    events = _events(dossier_service)
    values, amounts, session, shown = _load(events, str(FIRST))
    first = _evaluate(events, values, amounts, str(FIRST), session)
    assert first["decision"] and f"Dossier n° {FIRST}" in first["facts"]
    own = {k: v for k, v in _records(dossier_service)[-1]["input"].items() if k != "SK_ID_CURR"}

    raw = events["load_dossier"](bad, session)
    fields, amounts_after, session_after, out = _load(events, bad, session)
    assert fields == _initial(dossier_service) and fields != values  # the median applicant, not the first one
    assert amounts_after == [""] * AMOUNTS and session_after is None
    assert out["facts"] == NO_DOSSIER and str(FIRST) not in json.dumps(raw, ensure_ascii=False)
    assert out["message"].startswith("**") and CLEARED in out["message"]
    assert "dossier" in out["invalid"].split("\n")
    assert out["score"] == out["decision"] == out["reasons"] == out["gauge"] == out["request_id"] == ""
    assert all(v is None or isinstance(v, str | bool) for v in raw)  # values, never an update object

    again = _evaluate(events, fields, amounts_after, bad, session_after)  # the bad number still typed
    assert str(FIRST) not in json.dumps(again, ensure_ascii=False)
    if bad.strip():
        assert again["score"] == "" and again["invalid"] == "dossier"
    else:  # no number: the median applicant is scored, none of the first applicant's values is sent
        assert again["score"] and again["facts"] == NO_DOSSIER
        sent = _records(dossier_service)[-1]
        assert sent["status"] == "ok" and sent.get("applicant_id") is None
        assert sent["input"] != own
    assert all(r.get("applicant_id") in (FIRST, None) for r in _records(dossier_service))
    assert [r.get("applicant_id") for r in _records(dossier_service)].count(FIRST) == 2  # the load and the first


def test_a_refused_load_without_identity_clears_the_form_too(dossier_service: ScoringService) -> None:
    blocks = build_ui(dossier_service, Access({"alice-token": "alice"}, []))
    fns = {f.api_name: f.fn for f in blocks.fns.values() if f.fn}
    alice = SimpleNamespace(username=None, headers={"authorization": "Bearer alice-token"})
    nobody = SimpleNamespace(username=None, headers={})
    loaded = fns["load_dossier"](alice, str(FIRST), None)
    session = loaded[N_FIELDS + AMOUNTS]
    assert session["id"] == FIRST
    out = fns["load_dossier"](nobody, str(FIRST), session)
    shown = _named(out[N_FIELDS + AMOUNTS + 1:])
    assert NO_IDENTITY in shown["message"] and shown["facts"] == NO_DOSSIER and out[N_FIELDS + AMOUNTS] is None
    assert list(out[:N_FIELDS]) == _initial(dossier_service)
