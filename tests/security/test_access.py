"""One access policy for every door (issue 19, items 2, 3 and 8): with API_TOKENS and/or FORM_USERS,
every route and Gradio event that shows or changes applicant data needs an identity; evaluations,
decisions and letters belong to the identity that made them; request ids cannot be guessed; each
refusal is an audit line naming the identity."""

from __future__ import annotations

import functools
import json
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from api.app import build_app
from api.auth import Access
from api.form_events import NO_IDENTITY
from api.logger import new_request_id
from api.scoring_service import ScoringService
from api.ui import build_ui

ALICE, BOB = {"Authorization": "Bearer alice-token"}, {"Authorization": "Bearer bob-token"}
TOKENS = "alice:alice-token,bob:bob-token"


def _records(service: ScoringService) -> list[dict]:
    service.logger.flush()
    return [json.loads(line) for line in service.logger.path.read_text().splitlines()]


def _event(blocks, name: str, request):
    (fn,) = [f.fn for f in blocks.fns.values() if f.api_name == name]
    return functools.partial(fn, request)


DOORS = [("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/monitoring"), ("GET", "/monitoring/summary"),
         ("GET", "/config"), ("GET", "/gradio_api/info"), ("POST", "/gradio_api/call/load_dossier"),
         ("POST", "/gradio_api/call/letter"), ("POST", "/gradio_api/call/decide"),
         ("POST", "/gradio_api/call/predict"), ("POST", "/gradio_api/queue/join"), ("GET", "/api/applicants/100002"),
         ("GET", "/api/applicants/100002/letter"), ("GET", "/model/info"), ("POST", "/api/decisions")]


def test_tokens_alone_close_every_door_to_applicant_data(dossier_service: ScoringService,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_TOKENS", TOKENS)
    monkeypatch.delenv("FORM_USERS", raising=False)
    with TestClient(build_app(dossier_service)) as client:
        for method, path in DOORS:
            body = {"data": ["100002"]} if method == "POST" else None
            assert client.request(method, path, json=body).status_code == 401, (method, path)
        assert client.get("/health").status_code == 200
        doc = client.get("/openapi.json", headers=ALICE)
        assert doc.status_code == 200 and "/api/predict" in doc.json()["paths"]
    refusals = [r for r in _records(dossier_service) if r["status"] == "error"]
    assert len(refusals) == len(DOORS)  # one audit line for each refusal, naming the door
    assert {r["input"]["path"] for r in refusals} == {path for _, path in DOORS}


def test_form_users_alone_guard_the_json_api_too(dossier_service: ScoringService,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_TOKENS", raising=False)
    monkeypatch.setenv("FORM_USERS", "conseiller:motdepasse")
    with TestClient(build_app(dossier_service)) as client:
        for path in ("/api/applicants/100002", "/openapi.json", "/model/info", "/monitoring/summary"):
            assert client.get(path).status_code == 401, path
            assert client.get(path, auth=("conseiller", "faux")).status_code == 401, path
        ok = client.get("/api/applicants/100002", auth=("conseiller", "motdepasse"))
        assert ok.status_code == 200
    assert _records(dossier_service)[-1]["client"] == "conseiller"


def test_form_events_need_an_identity_and_work_on_their_own_evaluations(dossier_service: ScoringService) -> None:
    access = Access({"alice-token": "alice"}, [("bob", "pw")])
    blocks = build_ui(dossier_service, access)
    nobody = SimpleNamespace(username=None, headers={})
    alice = SimpleNamespace(username=None, headers={"authorization": "Bearer alice-token"})
    bob = SimpleNamespace(username="bob", headers={})
    assert NO_IDENTITY in _event(blocks, "load_dossier", nobody)("100002")[-5]  # the message
    assert _event(blocks, "decide", nobody)("0" * 32, "Accepter", "") == NO_IDENTITY
    assert NO_IDENTITY in _event(blocks, "letter", nobody)("0" * 32)
    loaded = _event(blocks, "load_dossier", alice)("100002")
    rid = loaded[-2]  # outputs end with the request id and the fields to mark
    assert len(rid) == 32 and loaded[-5] == ""
    # bob cannot read or decide alice's evaluation, even knowing its reference
    assert "Aucune évaluation" in _event(blocks, "letter", bob)(rid)
    assert "Aucune évaluation" in _event(blocks, "decide", bob)(rid, "Refuser", "vu en agence")
    assert "Décision enregistrée" in _event(blocks, "decide", alice)(rid, "Refuser", "vu en agence")
    assert "déjà enregistrée" in _event(blocks, "decide", alice)(rid, "Accepter", "vu en agence")
    assert "Madame, Monsieur" in _event(blocks, "letter", alice)(rid)
    records = _records(dossier_service)
    assert [r["client"] for r in records if r["status"] == "ok"] == ["alice", "alice"]  # evaluation, decision
    refused = [r for r in records if r["status"] == "error"]
    assert [r.get("client") for r in refused] == [None, None, None, "bob", "bob", "alice"]


def test_decisions_and_letters_belong_to_the_evaluations_identity(dossier_service: ScoringService,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_TOKENS", TOKENS)
    with TestClient(build_app(dossier_service)) as client:
        rid = client.get("/api/applicants/100002", headers=ALICE).json()["request_id"]
        decision = {"request_id": rid, "decision": "override", "reason": "garant présenté"}
        assert client.get(f"/api/letters/{rid}", headers=BOB).status_code == 404
        assert client.post("/api/decisions", json=decision, headers=BOB).status_code == 404
        assert client.post("/api/decisions", json=decision, headers=ALICE).status_code == 200
        second = client.post("/api/decisions", json=decision | {"decision": "accept"}, headers=ALICE)
        assert second.status_code == 409 and second.json()["errors"][0]["field"] == "decision"  # one per evaluation
        assert client.post("/api/decisions", json=decision | {"replace": True}, headers=BOB).status_code == 404
        letter = client.get(f"/api/letters/{rid}", headers=ALICE)
        assert letter.status_code == 200 and letter.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in letter.headers["content-security-policy"]
        # the applicant's letter by number: bob's is his own evaluation's, not alice's decided one
        assert "garant" not in client.get("/api/applicants/100002/letter", headers=BOB).text
    refused = [(r.get("client"), r["error"][:20]) for r in _records(dossier_service) if r["status"] == "error"]
    assert [c for c, _ in refused] == ["bob", "bob", "alice", "bob"]  # each refusal is an audit line


def test_request_ids_are_128_random_bits() -> None:
    ids = [new_request_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids) and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    values = [int(i, 16) for i in ids]
    assert not any(abs(b - a) < 2**64 for a, b in zip(values, values[1:], strict=False))  # no counter
    prefixes = {i[:8] for i in ids}
    assert len(prefixes) > 1900  # no shared per-process prefix
    ones = sum(bin(v).count("1") for v in values) / (128 * len(values))
    assert 0.48 < ones < 0.52
