"""One audit line for every refusal and every read of applicant data, with the identity (issue 19, item 8)."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from api.app import build_app
from api.scoring_service import ScoringService

ALICE = {"Authorization": "Bearer alice-token"}


def _refusals(service: ScoringService) -> list[dict]:
    service.logger.flush()
    return [r for r in map(json.loads, service.logger.path.read_text().splitlines()) if r["status"] == "error"]


PROBES = ["/api/applicants/1%27%20OR%201=1", "/api/applicants/..%2F..%2Fetc%2Fpasswd", "/api/applicants/-5",
          "/api/applicants/%D9%A1%D9%A0%D9%A0%D9%A0%D9%A0%D9%A2", "/api/letters/ZZZ", "/api/letters/" + "0" * 32,
          "/api/applicants/1/letter"]


def test_every_refusal_is_an_audit_line_with_the_identity(dossier_service: ScoringService,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_TOKENS", "alice:alice-token")
    monkeypatch.delenv("FORM_USERS", raising=False)
    with TestClient(build_app(dossier_service)) as client:
        for path in PROBES:
            assert client.get(path, headers=ALICE).status_code in (404, 422), path
        bodies = [b"not json", b"[1]", b'{"decision": "accept"}', b'{"request_id": "ab", "extra": 1}',
                  json.dumps({"request_id": "0" * 32, "decision": "accept"}).encode(),
                  json.dumps({"request_id": "0" * 32, "decision": "accept", "reason": "x" * 5000}).encode()]
        for body in bodies:
            resp = client.post("/api/decisions", content=body, headers=ALICE | {"content-type": "application/json"})
            assert resp.status_code in (404, 409, 422), body
    refusals = _refusals(dossier_service)
    assert len(refusals) == len(PROBES) + len(bodies)
    assert all(r["client"] == "alice" for r in refusals)


def test_a_long_reason_is_refused_not_cut(dossier_service: ScoringService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_TOKENS", raising=False)
    monkeypatch.delenv("FORM_USERS", raising=False)
    with TestClient(build_app(dossier_service)) as client:
        rid = client.get("/api/applicants/100002").json()["request_id"]
        resp = client.post("/api/decisions", json={"request_id": rid, "decision": "override", "reason": "x" * 5000})
        assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "reason"
        ok = client.post("/api/decisions", json={"request_id": rid, "decision": "override", "reason": "x" * 1000})
        assert ok.status_code == 200 and len(ok.json()["reason"]) == 1000


def test_a_letter_read_is_an_audit_line_with_the_identity(dossier_service: ScoringService, caplog,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_TOKENS", "alice:alice-token")
    monkeypatch.delenv("FORM_USERS", raising=False)
    with TestClient(build_app(dossier_service)) as client, caplog.at_level(logging.INFO, logger="api.audit"):
        rid = client.get("/api/applicants/100002", headers=ALICE).json()["request_id"]
        assert client.get(f"/api/letters/{rid}", headers=ALICE).status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "api.audit"]
    assert lines == [f"letter read: request {rid}, applicant 100002, client alice, via api"]
