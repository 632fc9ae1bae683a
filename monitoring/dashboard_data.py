"""What the Streamlit dashboard shows, computed without Streamlit (so it is tested like the rest)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monitoring.alerts import AlertConfig
from monitoring.drift import DriftConfig, effective_status
from monitoring.reader import CPU, DURATION, MEMORY, SCORE, TIME, LogData, window
from monitoring.report import ModelContext, build_report
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
            "onset (UTC)": _short_time(r["onset"]) if r.get("onset") else "—",
            "model name": name,
        })
    table = pd.DataFrame(rows)
    for column in ("PSI", "p-value", "reference", "live", "PSI since onset"):
        table[column] = pd.to_numeric(table[column], errors="coerce")
    return table


def worst_status(row: pd.Series, report: dict[str, Any]) -> str:
    """The worse of a feature's status over the window and since its onset (what its row is coloured by)."""
    return effective_status(report["drift"][row["model name"]])


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


def dashboard_view(data: LogData, context: ModelContext, choice: str, bucket: str,
                   alert_config: AlertConfig, drift_config: DriftConfig | None = None) -> dict[str, Any]:
    """Everything one screen of the dashboard draws, for the chosen window and bucket."""
    chosen = select_window(data, choice)
    report = build_report(chosen, context, drift_config, alert_config)
    return {
        "report": report,
        "series": series(chosen.frame, bucket),
        "slow": chosen.frame.loc[chosen.frame[DURATION] > alert_config.slow_call_s, [TIME, DURATION]],
        "scores": score_distribution(chosen.frame, context),
        "drift": drift_table(report),
        "alerts": alerts_table(report),
        "last_call": data.frame[TIME].max() if len(data.frame) else None,
    }
