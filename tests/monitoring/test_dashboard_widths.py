"""The dashboard shows every number whole ("188.203" never as "'88.203"), at 1400 px and at a laptop's 1280 px,
and the logs of several replicas with their own figures."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from monitoring.dashboard_data import (
    DRIFT_SHOWN,
    FEATURE,
    LIVE_MEAN,
    MODEL_NAME,
    NOTE,
    PSI,
    REFERENCE_MEAN,
    STATUS,
    cell_text,
    column_widths,
    drift_columns,
    drift_table,
)
from monitoring.report import analyse
from scoring.schema import BUREAU_OVERDUE_MAX, CARD_ATM_DRAWINGS
from tests.helpers import PROJECT_ROOT, free_port, launched
from tests.monitoring.conftest import simulated_log

DASHBOARD = str(PROJECT_ROOT / "dashboard.py")
KEY_COLUMNS = (FEATURE, STATUS, PSI, LIVE_MEAN, REFERENCE_MEAN)  # seen without scrolling, whatever the width
GRID_FONT = '14px "Source Sans", sans-serif'  # Streamlit's data grid
GRID_PADDING_PX = 16  # 8 px each side of a cell


@pytest.fixture(scope="module")
def drifted_log(tmp_path_factory, reference):
    """Amounts that drift to four digits: the cells that used to be cut."""
    log = tmp_path_factory.mktemp("wide") / "predictions.log"
    simulated_log(log, reference, 1500, seed=5, drift={BUREAU_OVERDUE_MAX: 3.0, CARD_ATM_DRAWINGS: 2.0},
                  drift_from=600)
    return log


def _app(monkeypatch, log, model_dir) -> AppTest:
    monkeypatch.setenv("LOG_PATH", str(log))
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def test_each_drift_column_is_as_wide_as_its_longest_text(monkeypatch, drifted_log, model_dir):
    at = _app(monkeypatch, drifted_log, model_dir)
    [grid] = [d for d in at.dataframe if NOTE in d.value.columns]
    config = json.loads(grid.proto.columns)
    table = drift_table(analyse(drifted_log, model_dir)[0])
    shown = drift_columns(table)
    assert set(KEY_COLUMNS) <= set(shown) and NOTE not in shown  # every figure computed: no empty note column
    assert {c: config[c]["width"] for c in shown} == column_widths(table, shown)
    assert list(json.loads(grid.proto.column_order) if isinstance(grid.proto.column_order, str)
                else grid.proto.column_order) == list(shown)
    live = table.set_index(MODEL_NAME).loc[BUREAU_OVERDUE_MAX, LIVE_MEAN]
    expected = f"{live:,.3f}".replace(",", "\u202f").replace(".", ",")  # the whole number, thousands marked
    assert live > 1000 and cell_text(LIVE_MEAN, live) == expected
    assert expected in set(grid.value[LIVE_MEAN])  # the grid holds the text shown, never a raw float or None
    share = next(m for m in at.metric if m.label == "Part de risque élevé")
    assert share.delta is None or share.delta.endswith(" pts")  # a short delta: "+2.7 pts vs refere…" is gone


@pytest.mark.parametrize("width", [1400, 1280])
def test_chromium_shows_every_drift_cell_whole(chromium, drifted_log, model_dir, tmp_path, width):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["-m", "streamlit", "run", "dashboard.py", "--server.headless", "true", "--server.port", str(port),
            "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    table = drift_table(analyse(drifted_log, model_dir)[0])
    widths = column_widths(table)
    texts = {c: [c, *(cell_text(c, v) for v in table[c])] for c in DRIFT_SHOWN}
    env = {"LOG_PATH": str(drifted_log), "MODEL_DIR": str(model_dir)}
    with launched(args, f"{url}/_stcore/health", env=env, log_file=tmp_path / "streamlit.log"):
        page = chromium.new_page(viewport={"width": width, "height": 2200})
        try:
            page.goto(url)
            grid = page.locator(f"[data-testid=stDataFrame]:has([role=columnheader]:text-is('{STATUS}'))")
            grid.locator("canvas").first.wait_for(timeout=90_000)
            grid.scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / f"dashboard-{width}.png"), full_page=True)
            headers = grid.locator("[role=columnheader]").all_text_contents()
            measured = page.evaluate("""async ([font, texts]) => {
                await document.fonts.ready;
                const ctx = document.createElement('canvas').getContext('2d');
                ctx.font = font;
                return Object.fromEntries(Object.entries(texts).map(
                    ([c, ts]) => [c, Math.max(...ts.map(t => ctx.measureText(t).width))]));
            }""", [GRID_FONT, texts])
            box = grid.bounding_box()
        finally:
            page.close()
    assert set(KEY_COLUMNS) <= set(headers), headers  # drawn without scrolling
    assert sum(widths[c] for c in KEY_COLUMNS) <= box["width"]
    for column in DRIFT_SHOWN:
        assert measured[column] + GRID_PADDING_PX <= widths[column], (column, measured[column], widths[column])


def test_the_dashboard_merges_the_logs_of_several_replicas(monkeypatch, tmp_path, reference, model_dir):
    folder = tmp_path / "logs"
    folder.mkdir()
    for i, name in enumerate(("api-1", "api-2")):
        log = folder / f"{name}.log"
        simulated_log(log, reference, 300 + 100 * i, seed=60 + i)
        log.write_text("".join(json.dumps(json.loads(line) | {"replica": name}) + "\n"
                               for line in log.read_text().splitlines()))
    at = _app(monkeypatch, f"{folder}/*.log", model_dir)
    assert next(m for m in at.metric if m.label == "Appels").value == "700"
    [replicas] = [d.value for d in at.dataframe if "Instance" in d.value.columns]
    assert dict(zip(replicas["Instance"], replicas["Appels"], strict=True)) == {"api-1": "300", "api-2": "400"}


def test_a_log_of_corrupt_lines_only_is_shown_as_an_alert(monkeypatch, tmp_path, model_dir):
    log = tmp_path / "predictions.log"
    log.write_text("not json\n" * 20)
    at = _app(monkeypatch, log, model_dir)
    assert any("20 lignes illisibles sur 20" in e.value for e in at.error)
