"""The dashboard speaks French to the risk analyst: every title, label, caption, metric, table header, chart
axis, alert and empty state; no grid cell reads "None"; the drift verdict is a whole sentence (not a metric
cut to "insuffi…") and a figure that is not computed says why."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from monitoring.dashboard_data import MODEL_NAME, NOTE, P_VALUE, PSI, STATUS
from monitoring.style import count_fr, p_clause, p_fr
from tests.helpers import free_port, launched
from tests.monitoring.conftest import simulated_log
from tests.monitoring.test_dashboard_widths import DASHBOARD, _app

# English words the dashboard used to show (none of them is also a French word)
ENGLISH = ("drift", "overrides", "requests", "calls", "alerts", "latency", "memory", "settings", "window", "share",
           "reference", "live", "none", "mean", "status", "feature", "severity", "kind", "replica", "figure",
           "expected", "realised", "training", "insufficient", "watch", "verdict", "whole", "last", "error",
           "rate", "outcomes", "decisions", "model", "threshold", "unknown", "since", "onset", "bucket", "value",
           "statistic", "refresh", "average", "folder", "prediction", "stability", "no", "yet")
CODE = re.compile(r"`[^`]*`|\S*[./_]\S*")  # paths, file names and commands are not words to translate


def _spec_texts(node) -> list[str]:
    """Titles and category names of a Vega-Lite spec (what the chart writes on screen)."""
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k == "title" and isinstance(v, str)]
        found += [v for v in node.get("domain", []) if isinstance(v, str)] if isinstance(node.get("domain"), list) \
            else []
        return found + [t for k, v in node.items() if k != "datasets" for t in _spec_texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _spec_texts(v)]
    return []


def visible_texts(at: AppTest) -> list[str]:
    texts = [e.value for kind in ("title", "header", "subheader", "caption", "markdown", "info", "warning", "error",
                                  "success") for e in at.get(kind)]
    texts += [m.label for m in at.metric] + [str(m.value) for m in at.metric]
    texts += [str(m.delta) for m in at.metric if m.delta]
    for widget in (*at.text_input, *at.number_input, *at.selectbox):
        texts += [widget.label, widget.help or ""]
    for box in at.selectbox:
        texts += [str(o) for o in box.options]  # as shown (after the box's format_func)
    for grid in (*at.dataframe, *at.table):
        shown = [c for c in grid.value.columns if c != MODEL_NAME and c != "Nom dans le modèle"]
        texts += [str(c) for c in shown] + [str(v) for c in shown for v in grid.value[c]]
    for chart in at.get("vega_lite_chart"):
        texts += _spec_texts(json.loads(chart.proto.spec))
    return texts


def english_words(texts: list[str]) -> set[str]:
    words = {w.lower() for t in texts for w in re.findall(r"[A-Za-zÀ-ÿ-]+", CODE.sub(" ", t))}
    return words & set(ENGLISH)


@pytest.fixture(scope="module")
def quiet_log(tmp_path_factory, reference):
    """Too few calls to judge drift: every figure of the drift table is "not computed"."""
    log = tmp_path_factory.mktemp("few") / "predictions.log"
    simulated_log(log, reference, 60, seed=3)
    return log


@pytest.fixture(scope="module")
def busy_log(tmp_path_factory, reference):
    log = tmp_path_factory.mktemp("busy") / "predictions.log"
    simulated_log(log, reference, 1500, seed=21, slow_calls=4, cpu_spikes=1, drift={"EXT_SOURCE_2": -1.2},
                  error_rate=0.05)
    return log


def test_every_text_of_a_busy_dashboard_is_french(monkeypatch, busy_log, model_dir):
    at = _app(monkeypatch, busy_log, model_dir)
    texts = visible_texts(at)
    assert len(texts) > 200  # the whole page was read, tables and charts included
    assert english_words(texts) == set(), english_words(texts)
    joined = "\n".join(texts)
    for french in ("Dérive des données", "Alertes", "Appels", "Latence, CPU et mémoire", "appel lent", "Gravité",
                   "part des appels", "en production", "moyenne", "Performance du modèle", "Réglages"):
        assert french in joined, french
    assert not re.search(r"\d\.\d", "\n".join(t for t in texts if not CODE.fullmatch(t.strip()))), \
        "a decimal point instead of a comma"
    for grid in (*at.dataframe, *at.table):
        assert not grid.value.isna().any().any() and "None" not in grid.value.astype(str).to_numpy()


def test_a_drift_that_is_not_computed_says_why(monkeypatch, quiet_log, model_dir):
    at = _app(monkeypatch, quiet_log, model_dir)
    [verdict] = [e.value for e in at.info]
    assert verdict.startswith("**Dérive des données : non calculée** — pas assez d'appels")
    assert "Drift verdict" not in [m.label for m in at.metric]  # no more a metric cut to "insuffi…"
    drift = next(d.value for d in at.dataframe if NOTE in d.value.columns)
    assert set(drift[STATUS]) == {"non calculé"} and set(drift[PSI]) == {"—"}
    assert set(drift[NOTE]) == {"60 valeurs connues, 200 nécessaires"} or all(
        re.fullmatch(r"(\d+ valeurs connues|[01] valeur connue), 200 nécessaires", n) for n in drift[NOTE])
    assert english_words(visible_texts(at)) == set()


def test_an_empty_window_and_a_missing_log_speak_french(monkeypatch, tmp_path, model_dir):
    at = _app(monkeypatch, tmp_path / "absent.log", model_dir)
    assert english_words(visible_texts(at)) == set()
    log = tmp_path / "corrupt.log"
    log.write_text("not json\n" * 20)
    at = _app(monkeypatch, log, model_dir)
    [error] = [e.value for e in at.error]
    assert error.startswith("lignes illisibles : 20 lignes illisibles sur 20") and english_words([error]) == set()


SCIENTIFIC = re.compile(r"\d[.,]?\d*e[-+]\d")  # "4,7e-78": no analyst reads that
NNBSP = "\u202f"


def test_counts_take_the_singular_at_0_and_1_and_p_values_read_as_decimals():
    assert [count_fr(n, "appel") for n in (0, 1, 2, 1234)] == ["0 appel", "1 appel", "2 appels", f"1{NNBSP}234 appels"]
    assert count_fr(1, "caractéristique mesurée") == "1 caractéristique mesurée"
    assert count_fr(11, "caractéristique mesurée") == "11 caractéristiques mesurées"
    assert count_fr(0, "valeur connue", "valeurs connues") == "0 valeur connue"
    assert [p_fr(p) for p in (4.7e-78, 0.000999, 0.001, 0.0123, 0.39, 1.0, None, float("nan"))] == [
        "< 0,001", "< 0,001", "0,001", "0,012", "0,390", "1,000", "—", "—"]
    assert p_clause(1e-9, "p unilatéral") == "p unilatéral < 0,001" and p_clause(0.0123) == "p = 0,012"


def test_a_busy_dashboard_has_no_scientific_p_value_and_no_plural_in_brackets(monkeypatch, busy_log, model_dir):
    at = _app(monkeypatch, busy_log, model_dir)
    texts = visible_texts(at)
    assert not [t for t in texts if SCIENTIFIC.search(t)]
    assert not [t for t in texts if re.search(r"\w\(s\)", t)]  # "caractéristique(s)"; "latence (s)" is a unit
    assert not [t for t in texts if re.search(r"(?<![\d,])[01] (appels|lignes|valeurs|décisions|fenêtres)\b", t)]
    drift = next(d.value for d in at.dataframe if NOTE in d.value.columns or P_VALUE in d.value.columns)
    assert "< 0,001" in set(drift[P_VALUE])  # the drifted feature's test, as the analyst reads it
    alerts = next(t.value for t in at.table if "Gravité" in t.value.columns)
    assert any(re.search(r"p < 0,001\)$", m) for m in alerts["Message"])


def test_one_call_is_one_call(monkeypatch, tmp_path, reference, model_dir):
    """A log of a single call: every count of it in the singular (stability, drift notes, the verdict)."""
    log = tmp_path / "predictions.log"
    simulated_log(log, reference, 1, seed=2)
    at = _app(monkeypatch, log, model_dir)
    texts = visible_texts(at)
    joined = "\n".join(texts)
    assert "Non calculé : 1 appel, il en faut au moins" in joined
    assert "1 valeur connue, 200 nécessaires" in joined
    assert not [t for t in texts if re.search(r"(?<![\d,])[01] (appels|valeurs|caractéristiques)\b", t)]


def test_chromium_at_1280_px_shows_the_longest_alert_and_the_movers_whole(chromium, busy_log, model_dir, tmp_path):
    """The two cells that used to be cut (the longest alert message, the window's movers) wrap inside the page:
    each is drawn whole, without a hover, inside a 1280 px window."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["-m", "streamlit", "run", DASHBOARD, "--server.headless", "true", "--server.port", str(port),
            "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    env = {"LOG_PATH": str(busy_log), "MODEL_DIR": str(model_dir)}
    with launched(args, f"{url}/_stcore/health", env=env, log_file=tmp_path / "streamlit.log"):
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(url)
            for name in ("Message", "Plus forts mouvements"):  # the page draws its tables one after another
                page.locator("[data-testid=stTable] th", has_text=name).first.wait_for(timeout=90_000)
            found = {name: page.evaluate("""(name) => {
                const table = [...document.querySelectorAll('[data-testid=stTable] table')].find(
                    t => [...t.querySelectorAll('thead th')].some(th => th.textContent.trim() === name));
                const col = [...table.querySelectorAll('thead th')].findIndex(th => th.textContent.trim() === name);
                const cells = [...table.querySelectorAll('tbody tr')].map(tr => tr.children[col]);
                const longest = cells.reduce((a, b) => (b.textContent.length > a.textContent.length ? b : a));
                const box = longest.getBoundingClientRect();
                const line = parseFloat(getComputedStyle(longest).lineHeight) || 20;
                return {text: longest.textContent, right: box.right, lines: Math.round(box.height / line),
                        cut: longest.scrollWidth > longest.clientWidth + 1};
            }""", name) for name in ("Message", "Plus forts mouvements")}
            page.screenshot(path=str(tmp_path / "dashboard-1280.png"), full_page=True)
        finally:
            page.close()
    for name, cell in found.items():
        assert len(cell["text"]) > 60 and not cell["cut"] and cell["right"] <= 1280, (name, cell)
    assert found["Message"]["lines"] >= 2  # the longest message wraps rather than running off
