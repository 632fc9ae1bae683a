"""What the Streamlit dashboard shows, computed without Streamlit (so it is tested like the rest)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monitoring.alerts import AlertConfig
from monitoring.backtest import BacktestConfig
from monitoring.challenger import CHALLENGER_HEADER, challenger_rows
from monitoring.context import ModelContext
from monitoring.drift import DriftConfig, worse_status
from monitoring.labels_fr import (
    ADVISER_HEADER_FR,
    FIGURES_FR,
    KIND_FR,
    PERFORMANCE_HEADER_FR,
    SEVERITY_FR,
    SOURCE_FR,
    STATUS_FR,
    moment_fr,
    number_fr,
    reason_fr,
)
from monitoring.outcomes import Outcomes
from monitoring.reader import LogData, split_calls, window
from monitoring.records import CPU, DURATION, MEMORY, SCORE, TIME
from monitoring.report import adviser_rows_fr, build_report, performance_rows
from monitoring.stats import UNKNOWN_REPLICA
from monitoring.style import MISSING, fr, label_fr, p_fr
from scoring.schema import SCORE_KEY

WHOLE_LOG = "Tout le journal"
# Time windows offered, counted back from the latest call in the log (not from the clock, so that a
# log that stopped yesterday still shows its last hour, with its age said beside it).
WINDOWS: dict[str, timedelta | None] = {
    "Dernière heure": timedelta(hours=1),
    "6 dernières heures": timedelta(hours=6),
    "24 dernières heures": timedelta(hours=24),
    "7 derniers jours": timedelta(days=7),
    WHOLE_LOG: None,
}
BUCKETS = ("1min", "5min", "15min", "1h")
SERIES = {DURATION: "latence (s)", CPU: "CPU (%)", MEMORY: "mémoire (Mo)"}
MEAN, MAX = "moyenne", "maximum"
LIVE, REFERENCE = "en production", "référence"  # the score distributions compared

# The drift table as shown: the columns that matter first (what drifts, by how much), each cell written once
# here as French text (a missing figure is "—", never a grid's "None"), and every column as wide as its longest
# text so that no cell is ever cut ("188,203" must not read "'88,203"). Widths are estimated from the text;
# tests/monitoring/test_dashboard_widths.py measures the same text in Chromium's font and checks the estimate.
FEATURE, STATUS, PSI, LIVE_MEAN, REFERENCE_MEAN, P_VALUE, N_VALUES, TEST = (
    "Caractéristique", "Statut", "PSI", "En production", "Référence", "p-valeur", "Valeurs", "Test")
PSI_SINCE, ONSET, NOTE, MODEL_NAME = "PSI depuis le début", "Début (UTC)", "Remarque", "Nom dans le modèle"
DRIFT_SHOWN = (FEATURE, STATUS, NOTE, PSI, LIVE_MEAN, REFERENCE_MEAN, P_VALUE, N_VALUES, TEST, PSI_SINCE, ONSET)
DRIFT_FORMATS = {PSI: ".3f", REFERENCE_MEAN: ",.3f", LIVE_MEAN: ",.3f", PSI_SINCE: ".3f",
                 N_VALUES: ","}
CHAR_PX = 7.2  # a bound on the mean character width in the grid's 14 px Source Sans (digits 7 px, letters ~6)
CELL_PADDING_PX = 28  # the grid's cell padding (8 px a side) and room for the header's sort arrow


def select_window(data: LogData, choice: str) -> LogData:
    """The records of the chosen window of `WINDOWS`."""
    span = WINDOWS[choice]
    if span is None or data.frame.empty:
        return data
    return window(data, since=data.frame[TIME].max() - span)


def series(frame: pd.DataFrame, bucket: str) -> pd.DataFrame:
    """Long table (time, metric, statistic, value, calls): mean and max of latency, CPU and memory per bucket.

    The max is drawn beside the mean because a short spike (ten calls at 95 % CPU) vanishes in a mean.
    """
    columns = [TIME, "metric", "statistic", "value", "calls"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby(frame[TIME].dt.floor(bucket), sort=True)
    parts = []
    for statistic, table in ((MEAN, grouped[list(SERIES)].mean()), (MAX, grouped[list(SERIES)].max())):
        table = table.assign(calls=grouped.size()).reset_index()
        long = table.melt(id_vars=[TIME, "calls"], value_vars=list(SERIES), var_name="metric", value_name="value")
        parts.append(long.assign(statistic=statistic))
    long = pd.concat(parts, ignore_index=True)
    long["metric"] = long["metric"].map(SERIES)
    return long[columns]


def score_distribution(frame: pd.DataFrame, context: ModelContext, bins: int = 20) -> pd.DataFrame:
    """Share of scores per bin of [0, 1], live and in the reference sample (columns: bin, source, share)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    sources = {LIVE: frame[SCORE].to_numpy(),
               REFERENCE: np.asarray(context.reference["features"].get(SCORE_KEY, {}).get("sample") or [])}
    for source, values in sources.items():
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        counts, _ = np.histogram(np.clip(values, 0, 1), bins=edges)
        share = counts / counts.sum() if counts.sum() else counts.astype(float)
        rows += [{"bin": round(float(edges[i] + edges[i + 1]) / 2, 4), "source": source, "share": float(share[i])}
                 for i in range(bins)]
    return pd.DataFrame(rows)


def drift_table(report: dict[str, Any]) -> pd.DataFrame:
    """One row per feature: status, PSI, test, p-value, size, reference/live mean (binary: share of 1), for a
    change that started inside the window its onset and the PSI since then, and why a figure is missing."""
    min_samples = report["settings"]["drift"]["min_samples"]
    rows = []
    for name, r in report["drift"].items():
        binary = r.get("kind") == "binary"
        rows.append({
            FEATURE: label_fr(name),
            STATUS: STATUS_FR[r["status"]],
            PSI: r.get("psi"),
            TEST: r.get("test"),
            P_VALUE: r.get("p_value"),
            N_VALUES: r.get("n", 0),
            REFERENCE_MEAN: r.get("reference_p1") if binary else r.get("reference_mean"),
            LIVE_MEAN: r.get("live_p1") if binary else r.get("live_mean"),
            PSI_SINCE: (r.get("since_onset") or {}).get("psi"),
            ONSET: pd.Timestamp(r["onset"]).strftime("%d/%m %H:%M") if r.get("onset") else MISSING,
            NOTE: reason_fr(r, min_samples),
            MODEL_NAME: name,
        })
    table = pd.DataFrame(rows)
    for column in (PSI, P_VALUE, REFERENCE_MEAN, LIVE_MEAN, PSI_SINCE):
        table[column] = pd.to_numeric(table[column], errors="coerce")
    return table


def cell_text(column: str, value: Any) -> str:
    """A drift table cell as the dashboard writes it (French numbers, "—" when there is none)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return MISSING
    if column == P_VALUE:
        return p_fr(value)
    return fr(value, DRIFT_FORMATS[column]) if column in DRIFT_FORMATS else str(value)


def drift_cells(table: pd.DataFrame) -> pd.DataFrame:
    """The drift table as the text shown, with the model's name kept (hidden) to colour each row."""
    shown = pd.DataFrame({c: [cell_text(c, v) for v in table[c]] for c in DRIFT_SHOWN})
    return shown.assign(**{MODEL_NAME: table[MODEL_NAME].to_numpy()})


def drift_columns(table: pd.DataFrame) -> tuple[str, ...]:
    """The drift columns shown: the onset, the PSI since then and the note only when one row has one."""
    return tuple(c for c in DRIFT_SHOWN if c not in (PSI_SINCE, ONSET, NOTE)
                 or any(cell_text(c, v) not in (MISSING, "") for v in table[c]))


def column_widths(table: pd.DataFrame, columns: tuple[str, ...] = DRIFT_SHOWN) -> dict[str, int]:
    """Pixels each column needs to show its header and its longest cell whole."""
    widths = {}
    for column in columns:
        longest = max([len(column), *(len(cell_text(column, v)) for v in table[column])])
        widths[column] = int(np.ceil(longest * CHAR_PX + CELL_PADDING_PX))
    return widths


def worst_status(row: pd.Series | dict[str, Any], report: dict[str, Any]) -> str:
    """The worse of a feature's status over the window and since its onset (what its row is coloured by)."""
    result = report["drift"][row[MODEL_NAME]]
    return worse_status(result["status"], (result.get("since_onset") or {}).get("status"))


ALERT_COLUMNS = ["Gravité", "Type", "Début (UTC)", "Fin (UTC)", "Où (fichier:ligne)", "Message"]


def alerts_table(report: dict[str, Any]) -> pd.DataFrame:
    """One row per alert, latest first: severity, kind, start and end (UTC), file:line of its first call, and
    the message last (the longest text), in French (the alert's `message_fr`, dates day first)."""
    def row(a: dict[str, Any]) -> list[str]:
        where = f"{Path(a['where']['file']).name}:{a['where']['line'] or '—'}"
        return [SEVERITY_FR.get(a["severity"], a["severity"]), KIND_FR.get(a["kind"], a["kind"]),
                moment_fr(a["start"]), moment_fr(a["end"]), where, a.get("message_fr") or a["message"]]

    latest_first = sorted(report["alerts"], key=lambda a: a["start"] or "", reverse=True)  # ISO times sort
    return pd.DataFrame([row(a) for a in latest_first], columns=ALERT_COLUMNS)


REPLICA_COLUMNS = ["Instance", "Appels", "Erreurs", "Taux d'erreur", "Latence p50 (ms)", "Latence p95 (ms)"]


def replica_table(report: dict[str, Any]) -> pd.DataFrame:
    """One row per app replica: calls, errors, error rate, median and p95 latency (ms)."""
    rows = [["non renseignée" if name == UNKNOWN_REPLICA else name, fr(r["count"], ","),
             fr(r["errors"], ","), fr(r["error_rate"], ".1%"),
             _ms(r["latency_s"]["p50"]), _ms(r["latency_s"]["p95"])]
            for name, r in report["stats"].get("replicas", {}).items()]
    return pd.DataFrame(rows, columns=REPLICA_COLUMNS)


OUT_OF_RANGE_COLUMNS = ["Caractéristique", "Appels signalés", "Part des appels notés"]


def out_of_range_table(report: dict[str, Any]) -> pd.DataFrame:
    """Per feature, the scored calls on which its value lay past the training range (most first)."""
    found = report["stats"].get("out_of_range") or {}
    scored = found.get("scored") or 0
    rows = [[label_fr(name), fr(n, ","), fr(n / scored, ".1%") if scored else MISSING]
            for name, n in (found.get("features") or {}).items()]
    return pd.DataFrame(rows, columns=OUT_OF_RANGE_COLUMNS)


SOURCE_COLUMNS = ["Origine", "Appels", "Part"]


def source_table(report: dict[str, Any]) -> pd.DataFrame:
    """One row per source of the calls (form, api, batch, dossier, what-if; unknown for older records)."""
    rows = [[SOURCE_FR.get(name, name), fr(r["count"], ","), fr(r["share"], ".1%")]
            for name, r in report["stats"].get("sources", {}).items()]
    return pd.DataFrame(rows, columns=SOURCE_COLUMNS)


def performance_table(report: dict[str, Any]) -> pd.DataFrame:
    """Expected (from the scores), realised (on outcomes) and training figures, one row per figure."""
    rows = [[FIGURES_FR.get(name, name), *(number_fr(c) for c in cells)]
            for name, *cells in performance_rows(report["performance"])]
    return pd.DataFrame(rows, columns=PERFORMANCE_HEADER_FR)


def adviser_table(report: dict[str, Any]) -> pd.DataFrame:
    """The advisers' final decisions by the model's decision, then all (no row when there is none)."""
    return pd.DataFrame(adviser_rows_fr(report["stats"]["adviser"]), columns=ADVISER_HEADER_FR)


def _ms(seconds: float | None) -> str:
    return MISSING if seconds is None else fr(seconds * 1000, ",.0f")


def dashboard_view(data: LogData, context: ModelContext, choice: str, bucket: str,
                   alert_config: AlertConfig, drift_config: DriftConfig | None = None,
                   outcomes: Outcomes | None = None, stability_window: str = "1D") -> dict[str, Any]:
    """Everything one screen of the dashboard draws, for the chosen window and bucket (and the stability windows)."""
    chosen = select_window(data, choice)
    report = build_report(chosen, context, drift_config, alert_config, outcomes=outcomes,
                          backtest_config=BacktestConfig(window=stability_window))
    chosen, calls = split_calls(chosen)[0], split_calls(data)[0]  # the plots show calls, not adviser decisions
    return {
        "report": report,
        "series": series(chosen.frame, bucket),
        "slow": chosen.frame.loc[chosen.frame[DURATION] > alert_config.slow_call_s, [TIME, DURATION]],
        "scores": score_distribution(chosen.frame, context),
        "drift": drift_table(report),
        "alerts": alerts_table(report),
        "replicas": replica_table(report),
        "sources": source_table(report),
        "out_of_range": out_of_range_table(report),
        "performance": performance_table(report),
        "adviser": adviser_table(report),
        "challenger": pd.DataFrame(challenger_rows(report.get("challenger")), columns=CHALLENGER_HEADER),
        "last_call": calls.frame[TIME].max() if len(calls.frame) else None,
    }
