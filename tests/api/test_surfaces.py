"""Bounded, quiet surfaces: body limits (413, chunked too), 405, no upload, no absolute path in a
response, optional API tokens and form login, and Schemathesis against the launched app."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import build_app, gated
from api.logger import PredictionLogger
from api.middleware import DEFAULT_BODY_LIMIT
from api.rest import create_api
from api.scoring_service import ScoringService
from tests.helpers import PROJECT_ROOT, VALID


def test_a_wrong_method_on_an_api_route_is_405_with_allow(client: TestClient) -> None:
    for method, path, allow in (("GET", "/api/predict", "POST"), ("POST", "/health", "GET, HEAD"),
                                ("DELETE", "/model/info", "GET, HEAD"), ("PUT", "/api/predict/batch", "POST")):
        resp = client.request(method, path)
        assert resp.status_code == 405, (method, path)
        assert resp.headers["allow"] == allow and resp.json()["detail"] == "method not allowed"


def test_api_tokens_protect_the_api_and_name_the_client_in_the_log(predictor, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("API_TOKENS", "acme:s3cret-token, beta:other")
    service = ScoringService(predictor, PredictionLogger(tmp_path / "p.log"))
    with TestClient(gated(create_api(service))) as client:
        assert client.post("/api/predict", json=VALID).status_code == 401
        wrong = client.post("/api/predict", json=VALID, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert client.get("/model/info").status_code == 401
        assert client.get("/health").status_code == 200  # stays open
        ok = client.post("/api/predict", json=VALID, headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200
        refused = client.post("/api/predict", json={}, headers={"Authorization": "bearer other"})
        assert refused.status_code == 422
        assert client.get("/model/info", headers={"Authorization": "Bearer other"}).status_code == 200
    service.logger.close()
    text = (tmp_path / "p.log").read_text()
    records = [json.loads(line) for line in text.splitlines()]
    assert [(r["status"], r["client"]) for r in records] == [("ok", "acme"), ("error", "beta")]
    assert "s3cret" not in text  # the token's name, never the token


def test_without_tokens_the_log_has_no_client_key(client: TestClient, service: ScoringService) -> None:
    assert client.post("/api/predict", json=VALID).status_code == 200
    service.logger.flush()
    assert "client" not in json.loads(service.logger.path.read_text().splitlines()[0])


def test_a_malformed_token_list_is_refused_without_showing_secrets(monkeypatch) -> None:
    from api.auth import AuthConfigError, api_tokens

    monkeypatch.setenv("API_TOKENS", "acme:tok1,justasecret")
    with pytest.raises(AuthConfigError, match="entry 2") as err:
        api_tokens()
    assert "tok1" not in str(err.value)


def test_form_login_when_form_users_is_set(service: ScoringService, monkeypatch) -> None:
    monkeypatch.setenv("FORM_USERS", "conseiller:motdepasse")
    with TestClient(build_app(service)) as client:
        assert client.get("/gradio_api/info").status_code == 401  # the form's API needs the login
        assert client.post("/login", data={"username": "conseiller", "password": "faux"}).status_code == 400
        assert client.post("/login", data={"username": "conseiller", "password": "motdepasse"}).status_code == 200
        assert client.get("/gradio_api/info").status_code == 200
        # one policy for every door: the JSON API needs an identity too (the form user's, as HTTP Basic),
        # on `POST /api/predict` served by the gate directly (api.direct_route) as on the others
        assert ("POST", "/api/predict") in client.app.app.direct
        assert client.post("/api/predict", json=VALID).status_code == 401
        assert client.post("/api/predict", json=VALID, auth=("conseiller", "motdepasse")).status_code == 200


def test_no_model_answers_carry_no_absolute_path(tmp_path: Path) -> None:
    svc = ScoringService.load(tmp_path / "secret-dir" / "models", tmp_path / "logs" / "p.log")
    with TestClient(gated(create_api(svc))) as client:
        bodies = [client.get("/health").text, client.post("/api/predict", json=VALID).text,
                  client.get("/model/info").text]
    svc.logger.close()
    assert all(str(tmp_path) not in b for b in bodies), bodies
    assert "secret-dir/models" in bodies[0]  # still says which folder, relatively


# --- the launched app ------------------------------------------------------------------------

@pytest.mark.slow
def test_gradio_routes_take_no_upload_and_no_large_body(app_url) -> None:
    url, _ = app_url
    upload = httpx.post(f"{url}/gradio_api/upload", files={"files": ("x.bin", b"0" * 1000)})
    assert upload.status_code == 403 and "uploads are disabled" in upload.text
    assert not list(Path("/tmp").glob("gradio/*/x.bin"))
    big = httpx.post(f"{url}/gradio_api/call/predict", content=b'{"data": [' + b" " * (DEFAULT_BODY_LIMIT + 1) + b"]}",
                     headers={"content-type": "application/json"})
    assert big.status_code == 413

    def chunks():  # no content-length: refused once it grows past the limit
        for _ in range(DEFAULT_BODY_LIMIT // 8192 + 2):
            yield b" " * 8192

    for path in ("/gradio_api/queue/join", "/api/predict"):
        streamed = httpx.post(f"{url}{path}", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413, path
    assert httpx.post(f"{url}/api/predict", json=VALID).status_code == 200  # the server is fine


@pytest.mark.slow
def test_health_shows_no_absolute_path(app_url) -> None:
    url, log = app_url
    text = httpx.get(f"{url}/health").text
    assert str(log.parent) not in text and "predictions.log" in text


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("schemathesis") is None and not os.path.exists(
    Path(sys.executable).with_name("schemathesis")), reason="schemathesis not installed (requirements-dev.txt)")
def test_schemathesis_finds_no_failure(app_url, tmp_path: Path) -> None:
    """Every Schemathesis check against the launched app's /openapi.json, bounded (30 examples an
    operation, fixed seed): 0 failures, none dropped (the exclusive groups are JSON Schema: a
    schema-valid body the API refused would be an ST202 failure)."""
    url, _ = app_url
    exe = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    env = os.environ | {"SCHEMATHESIS_TELEMETRY": "false", "NO_COLOR": "1"}  # no hook: no failure is dropped
    run = subprocess.run([exe, "--config-file", str(PROJECT_ROOT / "tests/api/schemathesis.toml"), "run",
                          f"{url}/openapi.json", "--checks", "all", "--max-examples", "30", "--seed", "1",
                          "--report", "junit", "--report-dir", str(tmp_path)],
                         capture_output=True, text=True, cwd=PROJECT_ROOT, env=env, timeout=600)
    summary = run.stdout[-3000:]
    assert run.returncode == 0, summary
    generated, passed = map(int, re.search(r"(\d+) generated, (\d+) passed", run.stdout).groups())
    assert generated == passed >= 200, summary
    operations = sum(len(methods) for methods in httpx.get(f"{url}/openapi.json").json()["paths"].values())
    assert operations >= 5 and f"Selected: {operations}/{operations}" in run.stdout  # every operation was tried
    print(f"Schemathesis: {generated} cases, 0 failures")


@pytest.mark.slow
def test_load_from_16_clients_is_logged_exactly(app_url) -> None:
    """16 threads × 50 distinct applicants through the gate: as many whole log lines as calls."""
    import threading
    import time

    url, log = app_url

    def lines() -> int:  # whole lines only: the writer may be appending the last one as we read
        return sum(1 for line in log.read_bytes().split(b"\n")[:-1] if json.loads(line)) if log.exists() else 0

    time.sleep(0.3)
    before = lines()
    ok = [0] * 16

    def work(w: int) -> None:
        with httpx.Client(base_url=url) as http:
            for i in range(50):
                body = VALID | {"EXT_SOURCE_1": round(0.01 + (w * 50 + i) / 1000, 4)}
                ok[w] += http.post("/api/predict?reasons=false", json=body).status_code == 200

    threads = [threading.Thread(target=work, args=(w,)) for w in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = time.monotonic() + 10
    while lines() < before + 800 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    assert sum(ok) == 800 and lines() - before == 800  # json.loads on every line: none torn
