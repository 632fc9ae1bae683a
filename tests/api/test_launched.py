"""The real app: `python app_gradio.py` launched as a process, used over HTTP, by gradio_client
and by a headless Chromium that fills the form."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import httpx
import pytest

from scoring import schema
from tests.helpers import VALID, free_port, launched

pytestmark = pytest.mark.slow


def _log_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _wait_for_record(path: Path, request_id: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in _log_records(path):
            if record["request_id"] == request_id:
                return record
        time.sleep(0.05)
    raise AssertionError(f"no log line for {request_id} in {path}")


def test_health_info_docs_and_form_are_served(app_url) -> None:
    url, _ = app_url
    health = httpx.get(f"{url}/health").json()
    assert health["status"] == "ok" and health["logger"]["failures"] == 0
    assert httpx.get(f"{url}/model/info").json()["n_features"] > 11
    assert "swagger" in httpx.get(f"{url}/docs").text.lower()
    form = httpx.get(f"{url}/")
    assert form.status_code == 200 and "<html" in form.text.lower()


def test_predict_over_http_is_logged(app_url) -> None:
    url, log = app_url
    resp = httpx.post(f"{url}/api/predict", json=VALID)
    assert resp.status_code == 200
    body = resp.json()
    assert body["label"] == schema.label_for(body["score"], body["threshold"])
    record = _wait_for_record(log, body["request_id"])
    assert record["status"] == "ok" and record["prediction"]["score"] == body["score"]


@pytest.mark.parametrize("content, field", [
    (json.dumps(VALID | {"FOO": 1}), "FOO"),
    (json.dumps({k: v for k, v in VALID.items() if k != schema.DOCUMENT_3}), schema.DOCUMENT_3),
    (json.dumps(VALID | {schema.EXT_SOURCE_1: "0.4"}), schema.EXT_SOURCE_1),
    (json.dumps(VALID).replace('"EXT_SOURCE_1": 0.45', '"EXT_SOURCE_1": NaN'), schema.EXT_SOURCE_1),
    (json.dumps(VALID | {schema.EXT_SOURCE_2: 3.0}), schema.EXT_SOURCE_2),
    (json.dumps(VALID | {schema.GENDER_F: 1}), schema.GENDER_F),
    ("", "body"),
    ("{oops", "body"),
])
def test_bad_input_over_http(app_url, content: str, field: str) -> None:
    url, log = app_url
    resp = httpx.post(f"{url}/api/predict", content=content, headers={"content-type": "application/json"})
    assert resp.status_code == 422
    assert any(field in e["field"] for e in resp.json()["errors"])
    assert "Traceback" not in resp.text
    assert _wait_for_record(log, resp.json()["request_id"])["status"] == "error"


def test_batch_over_http(app_url) -> None:
    url, _ = app_url
    rows = [VALID, VALID | {schema.EXT_SOURCE_3: 0.05}]
    resp = httpx.post(f"{url}/api/predict/batch", json={"rows": rows})
    assert resp.status_code == 200
    scores = [p["score"] for p in resp.json()["predictions"]]
    assert scores == [httpx.post(f"{url}/api/predict", json=r).json()["score"] for r in rows]
    assert httpx.post(f"{url}/api/predict/batch", json={"rows": [VALID] * 1001}).status_code == 422


def test_gradio_client_calls_the_predict_event(app_url) -> None:
    from gradio_client import Client

    url, log = app_url
    client = Client(url + "/", verbose=False)
    score, label, review, gauge, reasons, message, change, facts, request_id, invalid = client.predict(
        0.45, 0.6, 0.55, "Supérieur", 2.0, True, "Homme", True, 0.0, api_name="/predict")  # form_inputs() order
    assert invalid == ""
    assert message == "" and change == "" and "client médian" in facts
    expected = httpx.post(f"{url}/api/predict", json=VALID).json()
    assert score == f"{100 * expected['score']:.2f} %".replace(".", ",")
    assert label == expected["label"]  # plain text: the decision box's colour is a CSS class
    assert review in (schema.LABEL_REVIEW, "—")
    assert "seuil" in gauge and "risque" in reasons
    assert _wait_for_record(log, request_id)["source"] == "form"
    given = {k: float(v) for k, v in VALID.items()}
    deadline = time.monotonic() + 10  # the writer appends every 50 ms
    while True:
        records = [r for r in _log_records(log) if r["status"] == "ok" and r["input"] == given]
        if len(records) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(records) >= 2  # the form's call is logged like the API's


HOSTILE_FORM_CALLS = [  # through gradio_client: each refused in French, each one log line with the input as sent
    (1.5, 0.6, 0.55, "Supérieur", 2.0, True, "Homme", True, 0.0),
    (-0.05, 0.6, 0.55, "Supérieur", 2.0, True, "Homme", True, 0.0),  # (NaN/inf: gradio_client cannot send them)
    ("0.5.1", 0.6, 0.55, "Supérieur", 2.0, True, "Homme", True, 0.0),
    (0.45, 0.6, 0.55, "Supérieur", 2.0, True, "Homme", True, 0.0, "1 000", "", ""),  # an amount without a dossier
    ([0.5], 0.6, 0.55, "Supérieur", 2.0, True, "Homme", True, 0.0),
    (True, 0.6, 0.55, "Supérieur", 2.0, True, "Homme", True, 0.0),
    (0.45, 0.6, 0.55, "Doctorat", 2.0, True, "Homme", True, 0.0),
    (0.45, 0.6, 0.55, "Supérieur", 2.0, "false", "Homme", True, 0.0),
    (0.45, 0.6, 0.55, "Supérieur", 2.0, 2, "Homme", True, 0.0),
    (0.45, 0.6, 0.55, "Supérieur", 2.0, True, "Autre", True, -500.0),
]


def test_gradio_client_hostile_calls_are_refused_in_french_and_logged_once_each(app_url) -> None:
    from gradio_client import Client

    url, log = app_url
    client = Client(url + "/", verbose=False)
    before = len(_log_records(log))
    for args in HOSTILE_FORM_CALLS:
        score, _, _, _, _, message, *_ = client.predict(*args, api_name="/predict")
        assert score == "" and message.startswith("**Saisie refusée.**"), (args, message)
        assert not re.search(r"\b(Value|less than|greater than|minimum|maximum|Error)\b", message)
    short = httpx.post(f"{url}/gradio_api/call/predict", json={"data": [0.5]}).json()["event_id"]  # too few values
    events = httpx.get(f"{url}/gradio_api/call/predict/{short}", timeout=20).text
    assert "event: complete" in events and "Le formulaire attend 9 valeurs (re\\u00e7u 1)" in events
    deadline = time.monotonic() + 10
    while len(_log_records(log)) < before + len(HOSTILE_FORM_CALLS) + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    added = _log_records(log)[before:]
    assert len(added) == len(HOSTILE_FORM_CALLS) + 1 and all(r["status"] == "error" for r in added)
    assert added[-1]["input"] == {"EXT_SOURCE_1": 0.5}
    assert [r["input"]["EXT_SOURCE_1"] for r in added[:6]] == [1.5, -0.05, "0.5.1", 0.45, "[0.5]", True]
    assert added[3]["input"]["AMT_CREDIT"] == "1 000"
    assert added[-2]["input"]["CODE_GENDER"] == "Autre"
    console = (log.parent / "server.out").read_text(encoding="utf-8")
    assert console.count("form call") >= len(HOSTILE_FORM_CALLS) and "Traceback" not in console


def test_without_a_model_the_launched_app_reports_why(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"MODEL_DIR": str(tmp_path / "empty"), "LOG_PATH": str(tmp_path / "p.log"), "PORT": str(port),
           "HOST": "127.0.0.1"}
    with launched(["app_gradio.py"], f"{url}/docs", env=env):
        health = httpx.get(f"{url}/health")
        assert health.status_code == 503 and "does not exist" in health.json()["reason"]
        assert httpx.post(f"{url}/api/predict", json=VALID).status_code == 503
        assert httpx.get(f"{url}/").status_code == 200  # the form still loads and shows the reason


def test_gradio_client_names_the_parameters_and_gets_plain_text(app_url) -> None:
    """Named parameters (not param_0 …), keyword calls, and text without HTML entities (no &#x27;)."""
    from gradio_client import Client

    url, log = app_url
    client = Client(url + "/", verbose=False)
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert [p["parameter_name"] for p in info["/predict"]["parameters"]][:3] == list(schema.UI_FEATURE_NAMES[:3])
    assert {"/predict", "/load_dossier", "/decide", "/letter"} <= set(info)
    known = httpx.get(f"{url}/health").json()["feature_store"]
    assert known["loaded"], known
    loaded = client.predict(dossier="100002", api_name="/load_dossier")
    n = len(info["/predict"]["parameters"]) - 1
    values, outputs = loaded[:n], loaded[n:]
    assert outputs[5] == "" and "Dossier n° 100002" in outputs[7]
    named = dict(zip([p["parameter_name"] for p in info["/predict"]["parameters"]], [*values, "100002"], strict=True))
    named[schema.EXT_SOURCE_2] = 0.05
    again = client.predict(**named, api_name="/predict")
    assert "points** par rapport au dossier" in again[6]
    assert _wait_for_record(log, again[8])["source"] == "what-if"
    texts = [x for x in (*outputs, *again) if isinstance(x, str)]
    assert not any(re.search(r"&#x?[0-9a-fA-F]+;|&(amp|lt|gt|quot|apos);", t) for t in texts
                   if not t.startswith("<")), texts  # Markdown and text outputs: no HTML escaping
    assert "'" in "".join(texts)  # apostrophes as themselves ("Ancienneté dans l'emploi")


@pytest.mark.browser
def test_chromium_fills_the_form_and_reads_the_label(app_url, chromium, tmp_path: Path) -> None:
    url, _ = app_url
    page = _form_page(chromium, url)
    try:
        page.get_by_label("Homme").check()
        page.get_by_label("Supérieur").check()
        page.get_by_label(schema.UI_FEATURES_BY_NAME[schema.INCOME_WORKING].label).check()
        page.get_by_label(schema.UI_FEATURES_BY_NAME[schema.DOCUMENT_3].label).check()
        typed = {schema.EXT_SOURCE_1: 0.05, schema.EXT_SOURCE_2: 0.6, schema.EXT_SOURCE_3: 0.55,
                 schema.CARD_ATM_DRAWINGS: 2.0}
        for name, value in typed.items():
            _number_box(page, name).fill(str(value))
        _number_box(page, schema.BUREAU_OVERDUE_MAX).fill("0")
        page.get_by_role("button", name="Évaluer").click()
        decision = page.locator("#decision textarea, #decision input").first
        page.wait_for_function("(el) => el.value !== ''", arg=decision.element_handle(), timeout=20_000)
        label = decision.input_value()
        assert label in (schema.LABEL_LOW_RISK, schema.LABEL_HIGH_RISK)
        expected = httpx.post(f"{url}/api/predict", json=VALID | {schema.EXT_SOURCE_1: 0.05}).json()
        assert label == expected["label"]
        assert "seuil" in page.locator("#gauge").inner_text()
        page.screenshot(path=str(tmp_path / "form.png"), full_page=True)
    finally:
        page.close()


def _form_page(chromium, url: str):
    page = chromium.new_page(viewport={"width": 1280, "height": 1100})
    page.goto(url + "/", wait_until="load")  # not "networkidle": the session state keeps a heartbeat open
    page.get_by_role("button", name="Évaluer").wait_for(timeout=60_000)
    return page


def _number_box(page, name: str):
    return page.locator(f"#in-{name} textarea, #in-{name} input").first


@pytest.mark.browser
def test_chromium_shows_a_refused_value_in_french_without_error_badges(app_url, chromium, tmp_path: Path) -> None:
    url, log = app_url
    page = _form_page(chromium, url)
    try:
        before = len(_log_records(log))
        _number_box(page, schema.BUREAU_OVERDUE_MAX).fill("-500")
        _number_box(page, schema.EXT_SOURCE_1).fill("1.5")
        page.get_by_role("button", name="Évaluer").click()
        message = page.locator("#message")
        message.get_by_text("Saisie refusée").wait_for(timeout=20_000)
        text = message.inner_text()
        assert "Score externe 1 : 1,5 est impossible" in text
        assert "Impayé max. auprès d'autres organismes (€) : −500 est impossible" in text
        assert page.get_by_text("Error", exact=True).count() == 0  # no red badge on the outputs
        assert "less than minimum" not in page.content()
        page.screenshot(path=str(tmp_path / "form_refused.png"), full_page=True)
        shot = os.environ.get("FORM_SCREENSHOT")  # to look at it: FORM_SCREENSHOT=/tmp/x.png pytest …
        if shot:
            page.screenshot(path=shot, full_page=True)
        deadline = time.monotonic() + 10
        while len(_log_records(log)) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        record = _log_records(log)[before]
        assert record["status"] == "error" and record["input"][schema.EXT_SOURCE_1] == "1.5"  # as typed
    finally:
        page.close()


@pytest.mark.browser
def test_chromium_renders_the_api_docs_offline(app_url, chromium) -> None:
    pytest.importorskip("swagger_ui_bundle", reason="swagger-ui-bundle-v2 not installed: /docs uses the CDN")
    url, _ = app_url
    page = chromium.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(url) else None)
    try:
        page.goto(url + "/docs", wait_until="networkidle")
        page.get_by_text("/api/predict/batch").first.wait_for(timeout=20_000)
        assert "Score one applicant" in page.content()
        assert outside == []  # nothing fetched from a CDN
    finally:
        page.close()
