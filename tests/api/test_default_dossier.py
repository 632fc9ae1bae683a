"""The committed default, end to end: `python app_gradio.py` on a copy of models/ (the committed model,
no store file) builds the twin's feature store in the background, then serves dossiers; a headless
Chromium loads a dossier on the form, changes a field and re-evaluates.

Screenshots go to tmp_path; with `DOCS_SCREENSHOTS=1` they are also written to docs/ (form.png after
a bare-form evaluation, form_dossier.png after loading, form_whatif.png after the change).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scoring import config, schema
from tests.helpers import PROJECT_ROOT, free_port, launched

pytestmark = pytest.mark.slow

APPLICANT = 100002  # the twin's first applicant
BACKGROUNDS = {"decision-low": "rgb(220, 252, 231)", "decision-review": "rgb(254, 243, 199)",
               "decision-high": "rgb(254, 226, 226)"}


@pytest.fixture(scope="module")
def default_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (config.MODELS_DIR / schema.MANIFEST_FILE).is_file():
        pytest.skip("no committed model")
    root = tmp_path_factory.mktemp("default")
    model = root / "models"
    shutil.copytree(config.MODELS_DIR, model, ignore=shutil.ignore_patterns(config.FEATURE_STORE_FILE + "*",
                                                                            ".feature_store*"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"MODEL_DIR": str(model), "LOG_PATH": str(root / "p.log"), "HOST": "127.0.0.1", "PORT": str(port),
           "HF_HUB_OFFLINE": "1"}
    if os.environ.get("FEATURE_STORE"):
        pytest.skip("FEATURE_STORE is set: this test checks the default store next to the model")
    with launched(["app_gradio.py"], f"{url}/health", env=env, log_file=root / "server.out"):
        first = httpx.get(f"{url}/health").json()["feature_store"]
        assert first["loaded"] or "being built" in first["reason"], first  # the app answers during the build
        deadline = time.monotonic() + 600
        while not httpx.get(f"{url}/health").json()["feature_store"]["loaded"]:
            assert time.monotonic() < deadline, (root / "server.out").read_text()
            time.sleep(1)
        yield url
    assert (model / config.FEATURE_STORE_FILE).is_file()  # built next to the model


def test_the_default_store_serves_the_twins_applicants(default_app: str) -> None:
    store = httpx.get(f"{default_app}/health").json()["feature_store"]
    assert store["applicants"] > 30_000  # the twin's training and application_test applicants
    body = httpx.get(f"{default_app}/api/applicants/{APPLICANT}").json()
    assert body["source"] == "dossier" and body["facts"]["AMT_CREDIT"] > 0
    assert httpx.get(f"{default_app}/api/applicants/1").status_code == 404


@pytest.mark.browser
def test_chromium_loads_a_dossier_then_changes_a_field(default_app: str, chromium, tmp_path: Path) -> None:
    url = default_app
    page = chromium.new_page(viewport={"width": 1280, "height": 1300})
    shots = [tmp_path / "form.png", tmp_path / "form_dossier.png", tmp_path / "form_whatif.png"]
    try:
        page.goto(url + "/", wait_until="load")  # not "networkidle": the session state keeps a heartbeat open
        page.get_by_role("button", name="Évaluer").wait_for(timeout=60_000)
        assert page.locator("#score textarea, #score input").first.input_value() == ""  # empty before evaluating
        assert "client médian" in page.locator("#facts").inner_text()
        page.get_by_role("button", name="Évaluer").click()  # the bare form: the median applicant's defaults
        bare = page.locator("#score textarea, #score input").first
        page.wait_for_function("(el) => el.value.endsWith(' %')", arg=bare.element_handle(), timeout=20_000)
        assert page.locator("#change").inner_text().strip() == ""
        page.screenshot(path=str(shots[0]), full_page=True)
        page.locator("#dossier-id textarea, #dossier-id input").first.fill(str(APPLICANT))
        page.get_by_role("button", name="Charger le dossier").click()
        page.locator("#facts").get_by_text(f"Dossier n° {APPLICANT}").wait_for(timeout=30_000)
        expected = httpx.get(f"{url}/api/applicants/{APPLICANT}").json()
        decision = page.locator("#decision textarea, #decision input").first
        page.wait_for_function("(el) => el.value !== ''", arg=decision.element_handle(), timeout=20_000)
        assert decision.input_value() == expected["label"]
        percent = f"{100 * expected['score']:.2f} %".replace(".", ",")
        assert page.locator("#score textarea, #score input").first.input_value() == percent
        css = ("decision-review" if expected["review"] else "decision-high" if expected["prediction"]
               else "decision-low")
        assert css in (page.locator("#decision").get_attribute("class") or "")
        colour = decision.evaluate("(el) => getComputedStyle(el).backgroundColor")
        assert colour == BACKGROUNDS[css]
        facts = page.locator("#facts").inner_text()
        assert "Montant du crédit" in facts and "Situation familiale" in facts
        box = page.locator(f"#in-{schema.EXT_SOURCE_2} textarea, #in-{schema.EXT_SOURCE_2} input").first
        shown = box.input_value()
        assert shown == "" or 0 <= float(shown.replace(",", ".")) <= 1  # the dossier's value, French (or unknown)
        page.screenshot(path=str(shots[1]), full_page=True)

        box.fill("0,05")
        page.get_by_role("button", name="Évaluer").click()
        page.locator("#change").get_by_text("par rapport au dossier").wait_for(timeout=30_000)
        what_if = httpx.post(f"{url}/api/predict", json={schema.ID_COLUMN: APPLICANT,
                                                         schema.EXT_SOURCE_2: 0.05}).json()
        shown = f"{100 * what_if['score']:.2f} %".replace(".", ",")
        page.wait_for_function("(args) => args[0].value === args[1]",
                               arg=[page.locator("#score textarea, #score input").first.element_handle(), shown],
                               timeout=20_000)
        points = f"{100 * what_if['score_change']:+.1f}".replace(".", ",").replace("-", "−")
        change = page.locator("#change").inner_text()
        assert f"{points} points par rapport au dossier" in change
        assert change.startswith(f"Dossier n° {APPLICANT} — champs modifiés : Score externe 2")
        assert decision.input_value() == what_if["label"]
        page.screenshot(path=str(shots[2]), full_page=True)

        page.get_by_label("Refuser", exact=True).check()  # the adviser decides, with a reason
        page.locator("#adviser-reason textarea, #adviser-reason input").first.fill("taux d'endettement trop élevé")
        page.get_by_role("button", name="Enregistrer la décision").click()
        page.locator("#recorded").get_by_text("Décision enregistrée : demande refusée").wait_for(timeout=20_000)
        page.get_by_role("button", name="Imprimer le courrier").click()
        letter = page.frame_locator("#letter iframe")
        letter.get_by_text("Madame, Monsieur,", exact=True).wait_for(timeout=20_000)
        text = letter.locator("body").inner_text()
        assert f"Dossier n° {APPLICANT}" in text and "suite favorable" in text  # the adviser's refusal
        page.screenshot(path=str(tmp_path / "form_letter.png"), full_page=True)

        page.locator("#dossier-id textarea, #dossier-id input").first.fill("12ab")
        page.get_by_role("button", name="Charger le dossier").click()
        page.locator("#message").get_by_text("N° de dossier : saisir un nombre entier positif").wait_for(timeout=20_000)
    finally:
        page.close()
    if os.environ.get("DOCS_SCREENSHOTS") == "1":
        for shot in shots:
            shutil.copy(shot, PROJECT_ROOT / "docs" / shot.name)
