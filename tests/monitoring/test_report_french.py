"""The console report and the HTML report speak French to the risk analyst: titles, row labels, table headers,
verdicts, statuses, alerts (their `message_fr`), the rejected lines, sources, performance and challenger sections,
with French numbers (decimal comma); the `--json` document keeps its English keys and messages."""

from __future__ import annotations

import html
import json
import re

import pytest

from analyse_logs import main as analyse_main
from scoring.schema import (
    CHALLENGER_DECISION_KEY,
    CHALLENGER_DURATION_KEY,
    CHALLENGER_SCORE_KEY,
    CHALLENGER_VERSION_KEY,
)
from tests.monitoring.conftest import simulated_log
from tests.monitoring.test_adviser import KINDS, decision_line

# English words the reports used to show ("verdict", "stable" and "source" are French words too)
ENGLISH = ("calls", "errors", "error", "latency", "against", "alerts", "none", "rejected", "window",
           "performance", "expected", "realised", "training", "memory", "mean", "share", "reference", "status",
           "feature", "value", "watch", "insufficient", "drift", "severity", "kind", "where", "outcomes",
           "defaults", "adviser", "decisions", "overrides", "rate", "figure", "more", "see", "line", "log",
           "report", "prediction", "generated", "from", "to", "threshold", "live", "slow", "per",
           "agreement", "replica", "yet", "needed", "warning", "critical", "invalid", "missing")
CODE = re.compile(r"`[^`]*`|\S*[./_]\S*|--\S+")  # paths, file names, options are not words to translate
TAG = re.compile(r"<style.*?</style>|<[^>]+>", re.S)


def english_words(text: str) -> set[str]:
    words = {w.lower() for w in re.findall(r"[A-Za-zÀ-ÿ'-]+", CODE.sub(" ", text))}
    return words & set(ENGLISH)


def visible(page: str) -> str:
    """The text a reader of the HTML page sees (tags, styles and the inlined images' data left out)."""
    return html.unescape(TAG.sub(" ", page))


def _with_challenger(line: str, i: int) -> str:
    """The call's line with a source, and on every third successful call the challenger's answer."""
    record = json.loads(line) | {"source": ("form", "api", "batch")[i % 3]}
    if record.get("status") != "ok" or i % 3:
        return json.dumps(record)
    score = float(record["prediction"]["score"])
    shadow = min(1.0, score + (0.2 if i % 7 == 0 else 0.01))
    record |= {CHALLENGER_VERSION_KEY: "c2", CHALLENGER_SCORE_KEY: shadow,
               CHALLENGER_DECISION_KEY: int(shadow >= 0.5), CHALLENGER_DURATION_KEY: 0.0021}
    return json.dumps(record)


@pytest.fixture(scope="module")
def busy(tmp_path_factory, reference, model_dir):
    """1,500 calls (slow ones, a CPU spike, errors, a drifted external score), a challenger on every third call,
    40 adviser decisions and three rejected lines; analysed with --json and --html."""
    folder = tmp_path_factory.mktemp("busy")
    log = folder / "predictions.log"
    simulated_log(log, reference, 1500, seed=21, slow_calls=4, cpu_spikes=1, drift={"EXT_SOURCE_2": -1.2},
                  error_rate=0.05)
    lines = [_with_challenger(line, i) for i, line in enumerate(log.read_text().splitlines())]
    lines[10:10] = ["{not json", '["a list"]', '{"timestamp": "yesterday"}']
    lines += [decision_line(i, *kind) for i, kind in enumerate(KINDS)]
    log.write_text("\n".join(lines) + "\n")
    return folder, log, model_dir


def _run(busy, capsys, *extra: str) -> tuple[int, str]:
    folder, log, model_dir = busy
    code = analyse_main(["--log", str(log), "--model-dir", str(model_dir), *extra])
    return code, capsys.readouterr().out


def test_the_console_report_is_french(busy, capsys):
    code, out = _run(busy, capsys)
    assert code == 1
    assert english_words(out) == set(), english_words(out)
    for french in ("Rapport du journal des prédictions", "Appels :", "erreurs :", "lignes rejetées", "Latence (ms)",
                   "Dérive des données", "verdict : DÉRIVE", "Score externe 2", "Appels par origine",
                   "Performances : attendues", "Décisions des conseillers", "Challenger (évaluation dans l'ombre)",
                   "Alertes :", "appel lent", "JSON invalide", "horodatage absent ou invalide"):
        assert french in out, french
    assert re.search(r"part de risque élevé \d+,\d\u202f%", out)  # decimal comma, a space before %
    assert re.search(r"Latence \(ms\) : moyenne \d+,\d\d", out)
    assert not re.search(r"\d\.\d", out.replace(str(busy[1]), "")), "a number with a decimal point"


def test_the_html_report_is_french_and_the_json_stays_english(busy, capsys, tmp_path):
    page_path, json_path = tmp_path / "r.html", tmp_path / "r.json"
    _run(busy, capsys, "--html", str(page_path), "--json", str(json_path))
    page = page_path.read_text(encoding="utf-8")
    assert '<html lang="fr">' in page
    text = visible(page).replace(str(busy[1]), "")
    assert english_words(text) == set(), english_words(text)
    for french in ("Rapport du journal des prédictions", "Lignes rejetées", "Dérive des données", "Caractéristique",
                   "Statut", "dérive", "Performances", "Attendu d'après les scores", "Observé sur les issues",
                   "Décisions des conseillers", "Taux d'accord", "Alertes", "Gravité", "appel lent", "formulaire",
                   "Distribution des scores", "JSON invalide"):
        assert french in text, french
    assert re.search(r"\d+,\d+\u202f%", text)
    assert not re.search(r"\d\.\d", text), re.findall(r".{30}\d\.\d.{30}", text)[:5]
    document = json.loads(json_path.read_text(encoding="utf-8"))  # the machine contract: English keys and words
    assert {"stats", "drift", "alerts", "corrupt_lines"} <= set(document)
    assert document["corrupt_lines"] == 3
    assert all(a["message"] and a["message_fr"] for a in document["alerts"])
    assert document["drift"]["EXT_SOURCE_2"]["status"] == "drift"


def test_an_empty_window_reads_french(busy, capsys, tmp_path):
    """No call in the window: every empty state is French too (no "none", no "nan")."""
    page_path = tmp_path / "empty.html"
    code, out = _run(busy, capsys, "--since", "2030-01-01T00:00", "--html", str(page_path))
    text = visible(page_path.read_text(encoding="utf-8"))
    for shown in (out, text):
        assert english_words(shown) == set(), english_words(shown)
        assert "nan" not in shown.lower().split() and "None" not in shown
    assert "période : aucun appel" in out and "non calcul" in out and "Du —" not in text


def test_the_page_chromium_shows_is_french(busy, capsys, tmp_path, chromium):
    """What a browser actually renders (innerText: no tag, no style, no image data) has no English word."""
    page_path = tmp_path / "r.html"
    _run(busy, capsys, "--html", str(page_path))
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto(page_path.as_uri())
        shown = page.evaluate("document.body.innerText").replace(str(busy[1]), "")
        assert page.evaluate("document.documentElement.lang") == "fr"
        assert page.evaluate("document.images.length") == 2 and all(
            page.evaluate("[...document.images].map(i => i.naturalWidth > 0)"))
    finally:
        page.close()
    assert english_words(shown) == set(), english_words(shown)
    assert "Rapport du journal des prédictions" in shown and "Alertes : 12" in shown
