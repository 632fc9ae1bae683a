"""Streamlit dashboard of the prediction log: latency/CPU/RAM, score vs reference, drift, alerts.

usage: streamlit run dashboard.py   (LOG_PATH and MODEL_DIR are read from the environment)
Drawing only: what is shown is computed by monitoring.dashboard_data / monitoring.report.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import altair as alt
import pandas as pd
import streamlit as st

from monitoring import backtest_view
from monitoring.alerts import AlertConfig
from monitoring.context import ContextError, load_context
from monitoring.dashboard_data import (
    BUCKETS,
    DRIFT_SHOWN,
    SERIES,
    WINDOWS,
    cell_text,
    column_widths,
    dashboard_view,
    worst_status,
)
from monitoring.outcomes import OutcomeError, read_outcomes
from monitoring.reader import LogData, read_log, refresh
from monitoring.records import CPU, DURATION, MEMORY, TIME
from monitoring.sources import LogReadError, file_signature
from monitoring.style import STATUS_COLOURS, psi_bands
from scoring import config

TITLE = "Credit scoring service — monitoring"
REFRESH = {"off": None, "10 s": 10, "30 s": 30, "60 s": 60}
THRESHOLD_RED = "#d62728"

st.set_page_config(page_title="Monitoring — Prêt à dépenser", page_icon="📈", layout="wide")


@st.cache_resource(max_entries=4)
def log_holder(path: str) -> dict:
    """One per log path, shared by the sessions: the last parsed log and a lock around its update."""
    return {"lock": threading.Lock(), "data": None}


def load_log(path: str) -> LogData:
    """The parsed log, brought up to date: only lines appended since the last read are parsed."""
    holder = log_holder(path)
    with holder["lock"]:
        holder["data"] = read_log(path) if holder["data"] is None else refresh(holder["data"], path)
        return holder["data"]


@st.cache_data(max_entries=32, show_spinner="Reading the prediction log…")
def load_view(path: str, model_dir: str, signature: tuple, choice: str, bucket: str,
              slow_call_s: float, cpu_max: float, memory_max_mb: float, outcomes_path: str = "",
              stability_window: str = "1D") -> dict:
    alert_config = AlertConfig(slow_call_s=slow_call_s, cpu_max=cpu_max, memory_max_mb=memory_max_mb, window=bucket)
    # `signature` (the files' mtime and size, the outcome file's too) is in the cache key: a new line, a new view.
    outcomes = read_outcomes(outcomes_path) if outcomes_path else None
    return dashboard_view(load_log(path), load_context(model_dir), choice, bucket, alert_config, outcomes=outcomes,
                          stability_window=stability_window)


def _time_axis() -> alt.X:
    return alt.X(f"{TIME}:T", title="UTC", scale=alt.Scale(type="utc"), axis=alt.Axis(format="%H:%M"))


def metric_chart(series: pd.DataFrame, metric: str, limit: float, slow: pd.DataFrame | None = None) -> alt.LayerChart:
    data = series[series["metric"] == metric]
    line = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=16)).encode(
        x=_time_axis(), y=alt.Y("value:Q", title=metric),
        color=alt.Color("statistic:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=["mean", "max"], range=["#1f77b4", "#aec7e8"])),
        tooltip=[alt.Tooltip(f"{TIME}:T", format="%Y-%m-%d %H:%M", title="bucket (UTC)"), "statistic:N",
                 alt.Tooltip("value:Q", format=".3f"), "calls:Q"])
    rule = alt.Chart(pd.DataFrame({"threshold": [limit]})).mark_rule(color=THRESHOLD_RED, strokeDash=[6, 4]).encode(
        y="threshold:Q", tooltip=["threshold:Q"])
    layers = [line, rule]
    if slow is not None and len(slow):
        layers.append(alt.Chart(slow.rename(columns={DURATION: "value"})).mark_point(color=THRESHOLD_RED, filled=True)
                      .encode(x=_time_axis(), y="value:Q", tooltip=[f"{TIME}:T", "value:Q"]))
    return alt.layer(*layers).properties(height=230)


def score_chart(scores: pd.DataFrame, threshold: float | None) -> alt.LayerChart:
    lines = alt.Chart(scores).mark_line(point=alt.OverlayMarkDef(size=20)).encode(
        x=alt.X("bin:Q", title="score", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("share:Q", title="share of calls", axis=alt.Axis(format="%")),
        color=alt.Color("source:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=["reference", "live"], range=["#9aa5b1", "#1f77b4"])),
        tooltip=["source:N", alt.Tooltip("bin:Q", format=".3f"), alt.Tooltip("share:Q", format=".1%")])
    layers = [lines]
    if threshold is not None:
        layers.append(alt.Chart(pd.DataFrame({"threshold": [threshold]})).mark_rule(
            color=THRESHOLD_RED, strokeDash=[6, 4]).encode(x="threshold:Q", tooltip=["threshold:Q"]))
    return alt.layer(*layers).properties(height=300)


def _when(iso: str | None) -> str:
    return "—" if iso is None else pd.Timestamp(iso).strftime("%Y-%m-%d %H:%M UTC")


def empty_state(log: str) -> None:
    st.info(f"No prediction log yet at `{log}`.\n\nStart the app (`python app_gradio.py`) and make a few "
            f"predictions, or write simulated traffic:\n\n`python -m monitoring.simulate --log {log} --n 2000`")


def draw_stability(report: dict) -> None:
    """Stability of the score and characteristics per window, grade shares, back-test per grade (French)."""
    stable, tested = report.get("stability"), report.get("backtest")
    if not stable:
        return
    st.subheader("Stabilité du score et des caractéristiques")
    st.caption(f"PSI du score sur la période : {backtest_view.cell(stable['overall']['score_psi'])}. "
               + backtest_view.movers_sentence(stable["overall"]))
    st.dataframe(pd.DataFrame(backtest_view.csi_rows(stable["overall"]), columns=backtest_view.CSI_HEADER),
                 hide_index=True, width="content")
    st.dataframe(pd.DataFrame(backtest_view.window_rows(stable), columns=backtest_view.WINDOW_HEADER),
                 hide_index=True, width="stretch")
    header, rows = backtest_view.grade_rows(stable)
    if rows:
        st.caption("Répartition des classes de risque par fenêtre")
        st.dataframe(pd.DataFrame(rows, columns=header), hide_index=True, width="content")
    if tested:
        st.subheader("Back-testing par classe")
        st.dataframe(pd.DataFrame(backtest_view.backtest_rows(tested), columns=backtest_view.BACKTEST_HEADER),
                     hide_index=True, width="content")
        st.caption(backtest_view.auc_sentence(tested))


def draw(view: dict, alert_config: AlertConfig) -> None:
    report = view["report"]
    stats = report["stats"]
    last = view["last_call"]
    age = (datetime.now(UTC) - last.to_pydatetime()) if last is not None else None
    files = report["log"]["files"]
    shown = files[-1] if len(files) == 1 else f"{len(files)} files"
    st.caption(f"Log {shown} · calls from {_when(stats['first'])} to {_when(stats['last'])} · "
               f"last call "
               f"{'—' if age is None else f'{age.total_seconds() / 60:.0f} min ago'} · "
               f"corrupt lines skipped: {report['corrupt_lines']}")
    if stats["count"] == 0:
        st.warning("No call in this time window. Choose a longer window in the sidebar.")
        for alert in report["alerts"]:  # e.g. a log whose lines are all corrupt
            st.error(f"{alert['kind']}: {alert['message']}")
        return
    ref_share = report["reference_high_risk_share"]
    cols = st.columns(6)
    cols[0].metric("Calls", f"{stats['count']:,}")
    cols[1].metric("Error rate", f"{stats['error_rate']:.1%}")
    cols[2].metric("Latency p95", f"{stats['latency_s']['p95'] * 1000:.0f} ms")
    share = stats["high_risk_share"]
    cols[3].metric("High-risk share", "—" if share is None else f"{share:.1%}",
                   None if share is None or ref_share is None else f"{(share - ref_share) * 100:+.1f} pts",
                   delta_color="off", help=None if ref_share is None else f"reference {ref_share:.1%}; the "
                   "change is in percentage points")
    cols[4].metric("Drift verdict", report["drift_verdict"]["status"])
    cols[5].metric("Alerts", sum(report["alert_counts"].values()))

    st.subheader("Latency, CPU and memory")
    chart_cols = st.columns(3)
    limits = {DURATION: alert_config.slow_call_s, CPU: alert_config.cpu_max, MEMORY: alert_config.memory_max_mb}
    for col, (column, metric) in zip(chart_cols, SERIES.items(), strict=True):
        col.altair_chart(metric_chart(view["series"], metric, limits[column],
                                      view["slow"] if column == DURATION else None), width="stretch")

    left, right = st.columns([1, 2])
    left.subheader("Scores vs reference")
    left.altair_chart(score_chart(view["scores"], report["threshold"]), width="stretch")
    right.subheader("Calls per replica")
    right.dataframe(view["replicas"], hide_index=True, width="stretch")
    right.subheader("Calls per source")
    right.dataframe(view["sources"], hide_index=True, width="stretch")
    st.subheader(f"Data drift (PSI: {psi_bands(report)})")
    table = view["drift"]
    mean_or_share = "mean, or share of 1 for a binary feature"
    helps = {"reference": mean_or_share, "live": mean_or_share,
             "onset (UTC)": "month-day hour:minute where a change inside the window began"}
    # Every column as wide as its longest text (no cut number); the columns that matter first.
    st.dataframe(
        table.style.apply(lambda row: [f"background-color: {STATUS_COLOURS[worst_status(row, report)]}"] * len(row),
                          axis=1)
        .format({c: (lambda v, c=c: cell_text(c, v)) for c in DRIFT_SHOWN}),
        hide_index=True, width="content", height=36 * (len(table) + 1) + 4, column_order=DRIFT_SHOWN,
        column_config={c: st.column_config.Column(width=w, help=helps.get(c))
                       for c, w in column_widths(table).items()})

    draw_stability(report)

    st.subheader("Model performance")
    perf = report["performance"]
    st.caption("Expected from the logged scores (confidence-based estimation: right if the scores are calibrated); "
               + (f"realised on {perf['realised']['n']} outcomes joined by applicant"
                  if perf["realised"] else f"realised: {perf['waiting_for']}") + "; training: metrics.json.")
    st.dataframe(view["performance"], hide_index=True, width="content")

    if not view["adviser"].empty:
        adviser = stats["adviser"]
        st.subheader("Adviser decisions")
        st.caption(f"{adviser['decisions']} final decisions, {adviser['overrides']} against the model "
                   f"({adviser['override_rate']:.1%}; alert over {alert_config.override_rate_max:.0%} "
                   f"from {alert_config.min_decisions} decisions)")
        st.dataframe(view["adviser"], hide_index=True, width="content")

    if not view["challenger"].empty:
        st.subheader("Challenger (évalué dans l'ombre)")
        st.caption(f"Le challenger note chaque appel après la réponse du champion ; alerte au-delà de "
                   f"{alert_config.challenger_disagreement_max:.0%} de décisions différentes "
                   f"(sur au moins {alert_config.min_shadowed} appels).")
        st.dataframe(view["challenger"], hide_index=True, width="content")

    st.subheader("Alerts")
    if view["alerts"].empty:
        st.success("No alert in this window.")
    else:
        alerts = view["alerts"]
        st.dataframe(alerts, hide_index=True, width="stretch", height=36 * (min(len(alerts), 15) + 1) + 4)


def main() -> None:
    st.title(TITLE)
    with st.sidebar:
        st.header("Settings")
        log = st.text_input("Prediction log", value=str(config.log_path()),
                            help="a path, several separated by commas, or a glob (logs/*.log: one log per replica)")
        model_dir = st.text_input("Model folder (reference.json)", value=str(config.model_dir()))
        outcomes_path = st.text_input("Outcomes (optional CSV: SK_ID_CURR, defaulted, date)", value="").strip()
        # the whole log by default: the same figures as `analyse_logs.py` on the same log
        choice = st.selectbox("Time window", list(WINDOWS), index=list(WINDOWS).index("Whole log"),
                              help="counted back from the latest call")
        bucket = st.selectbox("Average over", BUCKETS, index=1)
        defaults = AlertConfig()
        slow = st.number_input("Slow call (s)", 0.01, 60.0, defaults.slow_call_s, 0.05)
        cpu_max = st.number_input("CPU threshold (%)", 1.0, 100.0, defaults.cpu_max, 5.0)
        memory_max = st.number_input("Memory threshold (MB)", 50.0, 64_000.0, defaults.memory_max_mb, 64.0)
        stability_window = st.selectbox("Stability window", ["1D", "7D", "1h"], index=0,
                                        help="time window of the score PSI, characteristic CSI and grade shares")
        refresh = st.selectbox("Auto-refresh", list(REFRESH), index=2)
    alert_config = AlertConfig(slow_call_s=slow, cpu_max=cpu_max, memory_max_mb=memory_max, window=bucket)

    @st.fragment(run_every=REFRESH[refresh])
    def live() -> None:
        signature = file_signature(log)
        if not signature:
            empty_state(log)
            return
        try:
            view = load_view(log, model_dir, signature + file_signature(outcomes_path or []), choice, bucket, slow,
                             cpu_max, memory_max, outcomes_path, stability_window)
        except (LogReadError, ContextError, OutcomeError) as exc:
            st.error(str(exc))
            return
        draw(view, alert_config)

    live()


main()
