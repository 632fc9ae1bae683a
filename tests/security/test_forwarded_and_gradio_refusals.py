"""Issue 19 leftovers, against the launched app: forwarded headers from an untrusted client reach
nothing (Gradio builds its links from them), and Gradio's own refusals of malformed form payloads
are audit lines like the API's refusals."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import build_app
from api.scoring_service import ScoringService

EVIL = "evil.example"
SPOOF = {"X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9",
         "Forwarded": f"for=203.0.113.9;host={EVIL};proto=https", "X-Gradio-Server": f"http://{EVIL}"}


def _lines(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_bytes().split(b"\n")[:-1]] if log.exists() else []


@pytest.mark.slow
def test_a_spoofed_forwarded_host_is_nowhere_in_pages_config_or_redirects(app_url) -> None:
    url, _ = app_url
    with httpx.Client(base_url=url, headers=SPOOF, follow_redirects=False) as http:
        answers = [http.get(path) for path in ("/config", "/", "/gradio_api/info", "/docs", "/openapi.json",
                                               "/gradio_api/startup-events")]
        answers.append(http.post("/login", data={"username": "x", "password": "y"}))  # no login: a redirect to root
        answers.append(http.get("/login"))
    assert answers[0].status_code == 200 and answers[0].json()["root"].startswith(url)
    for answer in answers:
        assert EVIL not in answer.text and all(EVIL not in v for v in answer.headers.values()), answer.request.url
    assert answers[6].status_code in (302, 303, 307) and EVIL not in answers[6].headers.get("location", "")


@pytest.mark.slow
def test_each_gradio_refusal_of_a_malformed_payload_is_one_audit_line(app_url) -> None:
    url, log = app_url
    bad = [("/gradio_api/call/predict", b"not json"), ("/gradio_api/call/predict", b'{"data": "x"}'),
           ("/gradio_api/call/predict", b"{}"), ("/gradio_api/call/predict", b"[1, 2]"),
           ("/gradio_api/queue/join", b'{"data": [], "fn_index": 999, "session_hash": "abc"}'),
           ("/gradio_api/queue/join", b"nope"), ("/gradio_api/call/no_such_event", b'{"data": []}')]
    before = len(_lines(log))
    statuses = [httpx.post(f"{url}{path}", content=body, headers={"content-type": "application/json"}).status_code
                for path, body in bad]
    assert all(400 <= s < 500 for s in statuses), statuses  # the unknown fn_index is no longer a 500
    deadline = time.monotonic() + 10
    while len(_lines(log)) < before + len(bad) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    audit = _lines(log)[before:]
    assert [(r["input"]["path"], r["status"]) for r in audit] == [(path, "error") for path, _ in bad]
    assert all(r["error"].startswith(f"{s}:") for r, s in zip(audit, statuses, strict=True))
    assert httpx.get(f"{url}/health").json()["status"] == "ok"  # and the form still works after
    assert httpx.post(f"{url}/gradio_api/call/predict", json={"data": [1]}).status_code == 200


def test_a_trusted_proxy_and_a_public_url_decide_the_links(dossier_service: ScoringService,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_TOKENS", raising=False)
    monkeypatch.delenv("FORM_USERS", raising=False)
    monkeypatch.setenv("TRUSTED_PROXIES", "testclient")  # the test client's peer: a proxy we trust
    with TestClient(build_app(dossier_service)) as client:
        assert client.get("/config", headers={"X-Forwarded-Host": "credit.example"}).json()["root"] == \
            "http://credit.example"
    monkeypatch.delenv("TRUSTED_PROXIES")
    monkeypatch.setenv("SPACE_HOST", "acme-credit.hf.space")  # on a Space: its own URL, whatever the headers
    with TestClient(build_app(dossier_service)) as client:
        assert client.get("/config", headers=SPOOF).json()["root"] == "https://acme-credit.hf.space"
    monkeypatch.setenv("PUBLIC_URL", "https://credit.example/")
    with TestClient(build_app(dossier_service)) as client:
        assert client.get("/config", headers=SPOOF).json()["root"] == "https://credit.example"
