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
    LIVE,
    LIVE_MEAN,
    MAX,
    MEAN,
    N_VALUES,
    NOTE,
    ONSET,
    P_VALUE,
    REFERENCE,
    REFERENCE_MEAN,
    SERIES,
    WHOLE_LOG,
    WINDOWS,
    column_widths,
    dashboard_view,
    drift_cells,
    drift_columns,
    worst_status,
)
from monitoring.drift import DRIFT, INSUFFICIENT, STABLE, WATCH
from monitoring.labels_fr import KIND_FR, age_fr, psi_bands_fr, verdict_fr, window_fr
from monitoring.outcomes import OutcomeError, read_outcomes
from monitoring.reader import LogData, read_log, refresh
from monitoring.records import CPU, DURATION, MEMORY, TIME
from monitoring.report import out_of_range_summary_fr
from monitoring.sources import LogReadError, file_signature
from monitoring.style import STATUS_COLOURS, count_fr, fr
from scoring import config

TITLE = "Prêt à dépenser — suivi du service de scoring"
REFRESH = {"désactivé": None, "10 s": 10, "30 s": 30, "60 s": 60}
THRESHOLD_RED = "#d62728"
# The charts' numbers the French way (Vega's d3-format locale): 0,5 ; 1 000 ; 60 %
FR_LOCALE = {"number": {"decimal": ",", "thousands": "\u202f", "grouping": [3], "currency": ["", "\u00a0€"],
                        "percent": "\u202f%"}}

BUCKETS_FR = {"1min": "1 minute", "5min": "5 minutes", "15min": "15 minutes", "1h": "1 heure"}
STABILITY_WINDOWS = ("1D", "7D", "1h")
READ_ERRORS_FR = {LogReadError: "Journal des prédictions illisible ou introuvable.",
                  ContextError: "Dossier du modèle illisible : reference.json ou threshold.json manquant ou invalide.",
                  OutcomeError: "Fichier des issues constatées illisible ou introuvable."}
VERDICT_BOX = {STABLE: st.success, WATCH: st.warning, DRIFT: st.error, INSUFFICIENT: st.info}

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


@st.cache_data(max_entries=32, show_spinner="Lecture du journal des prédictions…")
def load_view(path: str, model_dir: str, signature: tuple, choice: str, bucket: str,
              slow_call_s: float, cpu_max: float, memory_max_mb: float, outcomes_path: str = "",
              stability_window: str = "1D") -> dict:
    alert_config = AlertConfig(slow_call_s=slow_call_s, cpu_max=cpu_max, memory_max_mb=memory_max_mb, window=bucket)
    # `signature` (the files' mtime and size, the outcome file's too) is in the cache key: a new line, a new view.
    outcomes = read_outcomes(outcomes_path) if outcomes_path else None
    return dashboard_view(load_log(path), load_context(model_dir), choice, bucket, alert_config, outcomes=outcomes,
                          stability_window=stability_window)


def _time_axis() -> alt.X:
    return alt.X(f"{TIME}:T", title="heure (UTC)", scale=alt.Scale(type="utc"), axis=alt.Axis(format="%H:%M"))


def metric_chart(series: pd.DataFrame, metric: str, limit: float, slow: pd.DataFrame | None = None) -> alt.LayerChart:
    data = series[series["metric"] == metric]
    line = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=16)).encode(
        x=_time_axis(), y=alt.Y("value:Q", title=metric),
        color=alt.Color("statistic:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=[MEAN, MAX], range=["#1f77b4", "#aec7e8"])),
        tooltip=[alt.Tooltip(f"{TIME}:T", format="%d/%m/%Y %H:%M", title="période (UTC)"),
                 alt.Tooltip("statistic:N", title="statistique"), alt.Tooltip("value:Q", format=".3f", title="valeur"),
                 alt.Tooltip("calls:Q", title="appels")])
    rule = alt.Chart(pd.DataFrame({"threshold": [limit]})).mark_rule(color=THRESHOLD_RED, strokeDash=[6, 4]).encode(
        y="threshold:Q", tooltip=[alt.Tooltip("threshold:Q", title="seuil d'alerte")])
    layers = [line, rule]
    if slow is not None and len(slow):
        layers.append(alt.Chart(slow.rename(columns={DURATION: "value"})).mark_point(color=THRESHOLD_RED, filled=True)
                      .encode(x=_time_axis(), y="value:Q",
                              tooltip=[alt.Tooltip(f"{TIME}:T", title="heure (UTC)", format="%d/%m/%Y %H:%M:%S"),
                                       alt.Tooltip("value:Q", title="durée (s)", format=".3f")]))
    return alt.layer(*layers).properties(height=230).configure(locale=FR_LOCALE)


def score_chart(scores: pd.DataFrame, threshold: float | None) -> alt.LayerChart:
    lines = alt.Chart(scores).mark_line(point=alt.OverlayMarkDef(size=20)).encode(
        x=alt.X("bin:Q", title="score (probabilité de défaut)", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("share:Q", title="part des appels", axis=alt.Axis(format="%")),
        color=alt.Color("source:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=[REFERENCE, LIVE], range=["#9aa5b1", "#1f77b4"])),
        tooltip=[alt.Tooltip("source:N", title="série"), alt.Tooltip("bin:Q", format=".3f", title="score"),
                 alt.Tooltip("share:Q", format=".1%", title="part")])
    layers = [lines]
    if threshold is not None:
        layers.append(alt.Chart(pd.DataFrame({"threshold": [threshold]})).mark_rule(
            color=THRESHOLD_RED, strokeDash=[6, 4]).encode(
            x="threshold:Q", tooltip=[alt.Tooltip("threshold:Q", title="seuil de décision", format=".4f")]))
    return alt.layer(*layers).properties(height=300).configure(locale=FR_LOCALE)


def _when(iso: str | None) -> str:
    return "—" if iso is None else pd.Timestamp(iso).strftime("%d/%m/%Y %H:%M UTC")


def empty_state(log: str) -> None:
    st.info(f"Aucun journal de prédictions pour l'instant à `{log}`.\n\nDémarrez l'application "
            "(`python app_gradio.py`) et faites quelques évaluations, ou écrivez un trafic simulé :\n\n"
            f"`python -m monitoring.simulate --log {log} --n 2000`")


def draw_stability(report: dict) -> None:
    """Stability of the score and characteristics per window, grade shares, back-test per grade (French)."""
    stable, tested = report.get("stability"), report.get("backtest")
    if not stable:
        return
    st.subheader("Stabilité du score et des caractéristiques")
    st.caption(f"PSI du score sur la période : {backtest_view.cell(stable['overall']['score_psi'])}. "
               + backtest_view.movers_sentence(stable["overall"]))
    st.dataframe(pd.DataFrame(backtest_view.csi_rows(stable["overall"]), columns=backtest_view.CSI_HEADER),
                 hide_index=True, width="content", column_order=[backtest_view.CSI_HEADER[i] for i in (0, 2, 3, 1)],
                 column_config={c: st.column_config.TextColumn(width=w) for c, w in
                                zip(backtest_view.CSI_HEADER, (330, 390, 70, 90), strict=True)})
    # static: the movers' cell wraps instead of being cut (one row per window, a few rows)
    st.table(pd.DataFrame(backtest_view.window_rows(stable), columns=backtest_view.WINDOW_HEADER), hide_index=True)
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
    shown = files[-1] if len(files) == 1 else f"{len(files)} fichiers"
    st.caption(f"Journal {shown} · appels du {_when(stats['first'])} au {_when(stats['last'])} · dernier appel "
               f"{'—' if age is None else age_fr(age.total_seconds() / 60)} · "
               f"lignes illisibles ignorées : {report['corrupt_lines']}")
    if stats["count"] == 0:
        st.warning("Aucun appel dans cette fenêtre de temps : choisissez une fenêtre plus longue dans le panneau "
                   "de gauche.")
        for alert in report["alerts"]:  # e.g. a log whose lines are all corrupt
            st.error(f"{KIND_FR.get(alert['kind'], alert['kind'])} : {alert.get('message_fr') or alert['message']}")
        return
    ref_share = report["reference_high_risk_share"]
    cols = st.columns(5)
    cols[0].metric("Appels", fr(stats["count"], ","))
    cols[1].metric("Taux d'erreur", fr(stats["error_rate"], ".1%"))
    cols[2].metric("Latence p95", f"{fr(stats['latency_s']['p95'] * 1000, ',.0f')} ms")
    share = stats["high_risk_share"]
    cols[3].metric("Part de risque élevé", fr(share, ".1%"),
                   None if share is None or ref_share is None else f"{fr((share - ref_share) * 100, '+.1f')} pts",
                   delta_color="off", help=None if ref_share is None else f"référence {fr(ref_share, '.1%')} ; "
                   "l'écart est en points de pourcentage")
    cols[4].metric("Alertes", sum(report["alert_counts"].values()))
    # A sentence, not a metric: a metric's value is one short line and "données insuffisantes" was cut.
    verdict = report["drift_verdict"]
    VERDICT_BOX[verdict["status"]](verdict_fr(verdict))

    st.subheader("Latence, CPU et mémoire")
    chart_cols = st.columns(3)
    limits = {DURATION: alert_config.slow_call_s, CPU: alert_config.cpu_max, MEMORY: alert_config.memory_max_mb}
    for col, (column, metric) in zip(chart_cols, SERIES.items(), strict=True):
        col.altair_chart(metric_chart(view["series"], metric, limits[column],
                                      view["slow"] if column == DURATION else None), width="stretch")

    left, right = st.columns([1, 2])
    left.subheader("Scores : production et référence")
    left.altair_chart(score_chart(view["scores"], report["threshold"]), width="stretch")
    right.subheader("Appels par instance")
    right.dataframe(view["replicas"], hide_index=True, width="stretch")
    right.subheader("Appels par origine")
    right.dataframe(view["sources"], hide_index=True, width="stretch")
    st.subheader(f"Dérive des données (bandes du PSI : {psi_bands_fr(report)})")
    draw_drift(view["drift"], report)

    if not view["out_of_range"].empty:
        st.subheader("Valeurs hors du domaine d'entraînement")
        st.caption(out_of_range_summary_fr(stats["out_of_range"]) + " ; alerte au-delà de "
                   f"{fr(alert_config.out_of_range_share_max, '.0%')} des appels notés (sur au moins "
                   f"{alert_config.min_scored}).")
        st.dataframe(view["out_of_range"], hide_index=True, width="content")

    draw_stability(report)

    st.subheader("Performance du modèle")
    perf = report["performance"]
    st.caption("Attendu : d'après les scores journalisés (juste si les scores sont calibrés) ; "
               + (f"observé : sur {perf['realised']['n']} issues connues, rapprochées par client"
                  if perf["realised"] else "observé : pas encore de fichier d'issues (défauts constatés)")
               + " ; entraînement : metrics.json.")
    st.dataframe(view["performance"], hide_index=True, width="content")

    if not view["adviser"].empty:
        adviser = stats["adviser"]
        st.subheader("Décisions des conseillers")
        st.caption(f"{count_fr(adviser['decisions'], 'décision finale', 'décisions finales')}, dont "
                   f"{count_fr(adviser['overrides'], 'contraire', 'contraires')} au modèle "
                   f"({fr(adviser['override_rate'], '.1%')} ; alerte au-delà de "
                   f"{fr(alert_config.override_rate_max, '.0%')} à partir de {alert_config.min_decisions} décisions)")
        st.dataframe(view["adviser"], hide_index=True, width="content")

    if not view["challenger"].empty:
        st.subheader("Challenger (évalué dans l'ombre)")
        st.caption(f"Le challenger note chaque appel après la réponse du champion ; alerte au-delà de "
                   f"{fr(alert_config.challenger_disagreement_max, '.0%')} de décisions différentes "
                   f"(sur au moins {alert_config.min_shadowed} appels).")
        st.dataframe(view["challenger"], hide_index=True, width="content")

    st.subheader("Alertes")
    if view["alerts"].empty:
        st.success("Aucune alerte dans cette fenêtre.")
    else:
        # A static table: its cells wrap, so the longest messages read whole at 1280 px (a data grid cut them
        # to one line, readable only on hover)
        st.table(view["alerts"], hide_index=True)


def draw_drift(table: pd.DataFrame, report: dict) -> None:
    """The drift table: French text in every cell ("—" for a missing figure, the reason in "Remarque"), each
    row coloured by its status, each column as wide as its longest text."""
    mean_or_share = "moyenne, ou part de 1 pour une caractéristique binaire"
    helps = {LIVE_MEAN: mean_or_share + " (appels de la fenêtre)", REFERENCE_MEAN: mean_or_share + " (entraînement)",
             ONSET: "jour/mois heure:minute où un changement a commencé dans la fenêtre",
             P_VALUE: "test de Kolmogorov-Smirnov (ks) ou du khi-deux (chi2)", N_VALUES: "valeurs connues",
             NOTE: "pourquoi un chiffre n'est pas calculé"}
    cells, shown = drift_cells(table), drift_columns(table)
    colours = [STATUS_COLOURS[worst_status(row, report)] for _, row in table.iterrows()]
    st.dataframe(
        cells.style.apply(lambda row: [f"background-color: {colours[row.name]}"] * len(row), axis=1),
        hide_index=True, width="content", height=36 * (len(table) + 1) + 4, column_order=shown,
        column_config={c: st.column_config.TextColumn(c, width=w, help=helps.get(c))
                       for c, w in column_widths(table, shown).items()})


def main() -> None:
    st.title(TITLE)
    with st.sidebar:
        st.header("Réglages")
        log = st.text_input("Journal des prédictions", value=str(config.log_path()),
                            help="un chemin, plusieurs séparés par des virgules, ou un motif (logs/*.log : un journal "
                                 "par instance)")
        model_dir = st.text_input("Dossier du modèle (reference.json)", value=str(config.model_dir()))
        outcomes_path = st.text_input("Issues constatées (CSV facultatif : SK_ID_CURR, defaulted, date)",
                                      value="").strip()
        # the whole log by default: the same figures as `analyse_logs.py` on the same log
        choice = st.selectbox("Fenêtre de temps", list(WINDOWS), index=list(WINDOWS).index(WHOLE_LOG),
                              help="comptée à rebours depuis le dernier appel")
        bucket = st.selectbox("Moyenne par période de", BUCKETS, index=1, format_func=BUCKETS_FR.get)
        defaults = AlertConfig()
        # whole numbers: Streamlit writes a number box's decimals with a point ("0.50"), never a comma
        slow = st.number_input("Appel lent (ms)", 10, 60_000, round(defaults.slow_call_s * 1000), 50) / 1000
        cpu_max = float(st.number_input("Seuil CPU (%)", 1, 100, round(defaults.cpu_max), 5))
        memory_max = float(st.number_input("Seuil mémoire (Mo)", 50, 64_000, round(defaults.memory_max_mb), 64))
        stability_window = st.selectbox("Fenêtre de stabilité", list(STABILITY_WINDOWS), index=0,
                                        format_func=window_fr,
                                        help="fenêtre du PSI du score, du CSI des caractéristiques et des parts par "
                                             "classe de risque")
        refresh = st.selectbox("Actualisation automatique", list(REFRESH), index=2)
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
            st.error(f"{READ_ERRORS_FR[type(exc)]}\n\nDétail : `{exc}`")
            return
        draw(view, alert_config)

    live()


main()
