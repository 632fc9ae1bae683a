"""Issue 19, item 9: the smaller holes, one test each."""

from __future__ import annotations

import functools
import gzip
import json

import pytest
from fastapi.testclient import TestClient

from api.app import build_app
from api.form_events import parse_dossier_number
from api.form_parts import FormRefusal
from api.scoring_service import ScoringService
from api.ui import build_ui
from tests.helpers import VALID


@pytest.fixture()
def app(dossier_service: ScoringService, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("API_TOKENS", raising=False)
    monkeypatch.delenv("FORM_USERS", raising=False)
    with TestClient(build_app(dossier_service)) as client:
        yield client


def test_a_decision_posted_cross_site_as_text_plain_is_refused(app: TestClient) -> None:
    rid = app.get("/api/applicants/100002").json()["request_id"]
    body = json.dumps({"request_id": rid, "decision": "accept"})
    sneaky = app.post("/api/decisions", content=body, headers={"content-type": "text/plain",
                                                               "origin": "https://evil.example"})
    assert sneaky.status_code == 415
    plain = app.post("/api/predict", content=json.dumps(VALID), headers={"content-type": "text/plain"})
    assert plain.status_code == 415
    assert app.post("/api/decisions", content=body, headers={"content-type": "application/json"}).status_code in (
        200, 409)


def test_a_gzip_body_is_refused_not_ignored(app: TestClient) -> None:
    resp = app.post("/api/predict", content=gzip.compress(json.dumps(VALID).encode()),
                    headers={"content-type": "application/json", "content-encoding": "gzip"})
    assert resp.status_code == 415 and "Content-Encoding" in resp.text


def test_an_unknown_form_event_is_404_without_a_traceback(app: TestClient, capsys) -> None:
    for path in ("/gradio_api/call/nope", "/gradio_api/run/nope", "/gradio_api/call/v2/nope"):
        assert app.post(path, json={"data": []}).status_code == 404, path
    assert "Traceback" not in capsys.readouterr().err


def test_a_wrong_method_on_a_route_with_a_parameter_is_405(app: TestClient) -> None:
    resp = app.delete("/api/applicants/100002")
    assert resp.status_code == 405 and resp.headers["allow"] == "GET"
    assert app.put("/api/letters/" + "a" * 32).status_code == 405
    assert app.get("/api/nothing/here").status_code == 404


@pytest.mark.parametrize("typed", ["١٠٠٠٠٢", "۱۰۰۰۰۲", "１００００２"])
def test_non_ascii_digits_are_not_a_dossier_number(typed: str) -> None:
    with pytest.raises(FormRefusal):
        parse_dossier_number(typed)
    assert parse_dossier_number(" 100 002 ") == 100002


def test_extra_form_values_are_refused(app: TestClient) -> None:
    posted = app.post("/gradio_api/call/letter", json={"data": ["0" * 32, "extra"]})
    event = posted.json()["event_id"]
    stream = app.get(f"/gradio_api/call/letter/{event}").text
    assert "event: error" in stream and "Madame" not in stream


def test_wrong_form_passwords_are_throttled(dossier_service: ScoringService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_TOKENS", raising=False)
    monkeypatch.setenv("FORM_USERS", "conseiller:motdepasse")
    with TestClient(build_app(dossier_service)) as client:
        codes = [client.post("/login", data={"username": "conseiller", "password": f"guess{i}"}).status_code
                 for i in range(12)]
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}


def test_the_form_events_are_the_four_documented_ones(dossier_service: ScoringService) -> None:
    names = {f.api_name for f in build_ui(dossier_service).fns.values() if isinstance(f.api_name, str)}
    assert {"predict", "load_dossier", "decide", "letter"} <= names
    (letter,) = [functools.partial(f.fn, None) for f in build_ui(dossier_service).fns.values()
                 if f.api_name == "letter"]
    assert "Aucune évaluation" in letter("0" * 32)


@pytest.mark.parametrize("path,body", [
    ("/api/predict", b'{"EXT_SOURCE_1": 0.9, "EXT_SOURCE_1": 0.1}'),
    ("/api/predict", b'{"SK_ID_CURR": 100002, "SK_ID_CURR": 100003}'),
    ("/api/decisions", b'{"request_id": "ab", "decision": "accept", "decision": "refuse"}'),
    ("/api/predict/batch", b'{"rows": [{"EXT_SOURCE_2": 0.5, "EXT_SOURCE_2": 0.6}]}'),
])
def test_a_key_given_twice_is_refused_naming_it(app: TestClient, path: str, body: bytes) -> None:
    resp = app.post(path, content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 422 and "twice" in resp.text, resp.text[:300]


def test_a_value_that_looks_like_a_key_is_not_a_duplicate(app: TestClient) -> None:
    rid = app.get("/api/applicants/100002").json()["request_id"]
    body = json.dumps({"request_id": rid, "decision": "refuse", "reason": 'dit "decision": deux fois'})
    assert app.post("/api/decisions", content=body, headers={"content-type": "application/json"}).status_code == 200
