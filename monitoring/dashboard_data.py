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
from monitoring.outcomes import Outcomes
from monitoring.reader import LogData, split_calls, window
from monitoring.records import CPU, DURATION, MEMORY, SCORE, TIME
from monitoring.report import ADVISER_HEADER, PERFORMANCE_HEADER, adviser_rows, build_report, performance_rows
from monitoring.style import MISSING
from scoring.schema import SCORE_KEY, UI_FEATURES_BY_NAME

# Time windows offered, counted back from the latest call in the log (not from the clock, so that a
# log that stopped yesterday still shows its last hour, with its age said beside it).
WINDOWS: dict[str, timedelta | None] = {
    "Last hour": timedelta(hours=1),
    "Last 6 hours": timedelta(hours=6),
    "Last 24 hours": timedelta(hours=24),
    "Last 7 days": timedelta(days=7),
    "Whole log": None,
}
BUCKETS = ("1min", "5min", "15min", "1h")
SERIES = {DURATION: "latency (s)", CPU: "CPU (%)", MEMORY: "memory (MB)"}

# The drift table as shown: the columns that matter first (what drifts, by how much), each number formatted
# once here, and every column as wide as its longest text so that no cell is ever cut ("188.203" must not
# read "'88.203"). Widths are estimated from the text; tests/monitoring/test_dashboard_widths.py measures the
# same text in Chromium's font and checks the estimate holds.
DRIFT_SHOWN = ("feature", "status", "PSI", "live", "reference", "p-value", "n", "test", "PSI since onset",
               "onset (UTC)")
DRIFT_FORMATS = {"PSI": "{:.3f}", "p-value": "{:.1e}", "reference": "{:,.3f}", "live": "{:,.3f}",
                 "PSI since onset": "{:.3f}", "n": "{:,}"}
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
    for statistic, table in (("mean", grouped[list(SERIES)].mean()), ("max", grouped[list(SERIES)].max())):
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
    sources = {"live": frame[SCORE].to_numpy(),
               "reference": np.asarray(context.reference["features"].get(SCORE_KEY, {}).get("sample") or [])}
    for source, values in sources.items():
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        counts, _ = np.histogram(np.clip(values, 0, 1), bins=edges)
        share = counts / counts.sum() if counts.sum() else counts.astype(float)
        rows += [{"bin": round(float(edges[i] + edges[i + 1]) / 2, 4), "source": source, "share": float(share[i])}
                 for i in range(bins)]
    return pd.DataFrame(rows)


def drift_table(report: dict[str, Any]) -> pd.DataFrame:
    """One row per feature: status, PSI, test, p-value, size, reference/live mean (binary: share of 1), and
    for a change that started inside the window, its onset and the PSI since then."""
    rows = []
    for name, r in report["drift"].items():
        binary = r.get("kind") == "binary"
        rows.append({
            "feature": UI_FEATURES_BY_NAME[name].label if name in UI_FEATURES_BY_NAME else name,
            "status": r["status"],
            "PSI": r.get("psi"),
            "test": r.get("test"),
            "p-value": r.get("p_value"),
            "n": r.get("n", 0),
            "reference": r.get("reference_p1") if binary else r.get("reference_mean"),
            "live": r.get("live_p1") if binary else r.get("live_mean"),
            "PSI since onset": (r.get("since_onset") or {}).get("psi"),
            "onset (UTC)": pd.Timestamp(r["onset"]).strftime("%m-%d %H:%M") if r.get("onset") else MISSING,
            "model name": name,
        })
    table = pd.DataFrame(rows)
    for column in ("PSI", "p-value", "reference", "live", "PSI since onset"):
        table[column] = pd.to_numeric(table[column], errors="coerce")
    return table


def cell_text(column: str, value: Any) -> str:
    """A drift table cell as the dashboard writes it."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return MISSING
    return DRIFT_FORMATS[column].format(value) if column in DRIFT_FORMATS else str(value)


def column_widths(table: pd.DataFrame, columns: tuple[str, ...] = DRIFT_SHOWN) -> dict[str, int]:
    """Pixels each column needs to show its header and its longest cell whole."""
    widths = {}
    for column in columns:
        longest = max([len(column), *(len(cell_text(column, v)) for v in table[column])])
        widths[column] = int(np.ceil(longest * CHAR_PX + CELL_PADDING_PX))
    return widths


def worst_status(row: pd.Series, report: dict[str, Any]) -> str:
    """The worse of a feature's status over the window and since its onset (what its row is coloured by)."""
    result = report["drift"][row["model name"]]
    return worse_status(result["status"], (result.get("since_onset") or {}).get("status"))


def _short_time(iso: str | None) -> str:
    return "—" if iso is None else pd.Timestamp(iso).strftime("%Y-%m-%d %H:%M:%S")


def alerts_table(report: dict[str, Any]) -> pd.DataFrame:
    """One row per alert, latest first: severity, kind, start and end (UTC), message, file:line of its first call."""
    columns = ["severity", "kind", "start (UTC)", "end (UTC)", "message", "where"]
    rows = [{"severity": a["severity"], "kind": a["kind"], "start (UTC)": _short_time(a["start"]),
             "end (UTC)": _short_time(a["end"]), "message": a["message"],
             "where": f"{Path(a['where']['file']).name}:{a['where']['line'] or '—'}"}
            for a in report["alerts"]]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values("start (UTC)", ascending=False, kind="stable").reset_index(drop=True)


def replica_table(report: dict[str, Any]) -> pd.DataFrame:
    """One row per app replica: calls, errors, error rate, median and p95 latency (ms)."""
    rows = [{"replica": name, "calls": r["count"], "errors": r["errors"], "error rate": f"{r['error_rate']:.1%}",
             "p50 (ms)": _ms(r["latency_s"]["p50"]), "p95 (ms)": _ms(r["latency_s"]["p95"])}
            for name, r in report["stats"].get("replicas", {}).items()]
    return pd.DataFrame(rows, columns=["replica", "calls", "errors", "error rate", "p50 (ms)", "p95 (ms)"])


def source_table(report: dict[str, Any]) -> pd.DataFrame:
    """One row per source of the calls (form, api, batch, dossier, what-if; `unknown` for older records)."""
    rows = [{"source": name, "calls": r["count"], "share": f"{r['share']:.1%}"}
            for name, r in report["stats"].get("sources", {}).items()]
    return pd.DataFrame(rows, columns=["source", "calls", "share"])


def performance_table(report: dict[str, Any]) -> pd.DataFrame:
    """Expected (from the scores), realised (on outcomes) and training figures, one row per figure."""
    return pd.DataFrame(performance_rows(report["performance"]), columns=PERFORMANCE_HEADER)


def adviser_table(report: dict[str, Any]) -> pd.DataFrame:
    """The advisers' final decisions by the model's decision, then all (no row when there is none)."""
    adviser = report["stats"]["adviser"]
    return pd.DataFrame(adviser_rows(adviser) if adviser["decisions"] else [], columns=ADVISER_HEADER)


def _ms(seconds: float | None) -> str:
    return MISSING if seconds is None else f"{seconds * 1000:,.0f}"


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
        "performance": performance_table(report),
        "adviser": adviser_table(report),
        "challenger": pd.DataFrame(challenger_rows(report.get("challenger")), columns=CHALLENGER_HEADER),
        "last_call": calls.frame[TIME].max() if len(calls.frame) else None,
    }
