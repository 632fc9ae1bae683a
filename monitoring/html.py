"""The self-contained HTML report (`analyse_logs.py --html`): tables and matplotlib plots inlined as PNG."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from monitoring.backtest_view import backtest_html  # noqa: E402
from monitoring.dashboard_data import (  # noqa: E402
    MAX,
    MEAN,
    MODEL_NAME,
    SERIES,
    alerts_table,
    series,
    worst_status,
)
from monitoring.records import CPU, DURATION, MEMORY, TIME  # noqa: E402
from monitoring.report import ADVISER_HEADER, PERFORMANCE_HEADER, adviser_rows, performance_rows  # noqa: E402
from monitoring.style import STATUS_COLOURS, fmt, psi_bands  # noqa: E402
from scoring.schema import SCORE_KEY  # noqa: E402


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _series_plots(frame: pd.DataFrame, report: dict[str, Any], window: str) -> str:
    long = series(frame, window)
    settings = report["settings"]["alerts"]
    fig, axes = plt.subplots(3, 1, figsize=(10, 7.5), sharex=True)
    limits = {DURATION: settings["slow_call_s"], CPU: settings["cpu_max"], MEMORY: settings["memory_max_mb"]}
    slow = frame[frame[DURATION] > settings["slow_call_s"]]
    for ax, (column, label) in zip(axes, SERIES.items(), strict=True):
        for statistic, style in ((MEAN, {"lw": 1.4}), (MAX, {"lw": 0.8, "alpha": 0.6})):
            part = long[(long["metric"] == label) & (long["statistic"] == statistic)]
            ax.plot(part[TIME], part["value"], label=f"{statistic} per {window}", **style)
        ax.axhline(limits[column], color="#c0392b", ls="--", lw=1, label=f"threshold {limits[column]:g}")
        if column == DURATION and len(slow):
            ax.scatter(slow[TIME], slow[DURATION], s=10, color="#c0392b", label="slow calls")
        ax.set_ylabel(label)
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return _png(fig)


def _score_plot(frame: pd.DataFrame, reference: dict[str, Any], threshold: float | None) -> str:
    fig, ax = plt.subplots(figsize=(10, 3.2))
    bins = np.linspace(0, 1, 41)
    sample = np.asarray(reference["features"].get(SCORE_KEY, {}).get("sample") or [], dtype=float)
    if sample.size:
        ax.hist(sample, bins=bins, density=True, alpha=0.45, label="reference (training)")
    live = frame["score"].to_numpy()
    live = live[np.isfinite(live)]
    if live.size:
        ax.hist(live, bins=bins, density=True, histtype="step", lw=1.8, label="live")
    if threshold is not None:
        ax.axvline(threshold, color="#c0392b", ls="--", lw=1, label=f"threshold {threshold:g}")
    ax.set_xlabel("score")
    ax.legend(fontsize=8)
    return _png(fig)


def _table(rows: list[list[str]], header: list[str], colours: list[str | None] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        style = f' style="background:{colours[i]}"' if colours and colours[i] else ""
        body.append(f"<tr{style}>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _realised_note(perf: dict[str, Any]) -> str:
    real = perf["realised"]
    return f"{real['n']} outcomes, {real['defaults']} defaults" if real else f"none yet: {perf['waiting_for']}"


def _adviser(adviser: dict[str, Any]) -> str:
    """The advisers' final decisions by the model's decision (nothing when there is none)."""
    if not adviser["decisions"]:
        return ""
    return (f"<h2>Adviser decisions</h2><p>{adviser['decisions']} final decisions, {adviser['overrides']} against "
            f"the model ({fmt(adviser['override_rate'], '.1%')}).</p>{_table(adviser_rows(adviser), ADVISER_HEADER)}")


def render_html(report: dict[str, Any], frame: pd.DataFrame, reference: dict[str, Any], window: str = "15min") -> str:
    """The report as one HTML page with its plots embedded (no external file or script)."""
    stats = report["stats"]
    lat = stats["latency_s"]
    summary = _table([[
        str(stats["count"]), str(stats["errors"]), fmt(stats["error_rate"], ".1%"), str(report["corrupt_lines"]),
        fmt(lat["p50"]), fmt(lat["p95"]), fmt(lat["p99"]), fmt(lat["max"]), fmt(stats["high_risk_share"], ".1%"),
    ]], ["calls", "errors", "error rate", "corrupt lines", "latency p50 (s)", "p95", "p99", "max",
         "high-risk share"])
    colours = [STATUS_COLOURS.get(worst_status({MODEL_NAME: name}, report)) for name in report["drift"]]
    drift = _table([[name, str(r.get("n", 0)), fmt(_num(r.get("psi"))), r.get("test") or "—",
                     "—" if _num(r.get("p_value")) is None else f"{r['p_value']:.1e}", r["status"],
                     fmt(_num((r.get("since_onset") or {}).get("psi"))),
                     pd.Timestamp(r["onset"]).strftime("%m-%d %H:%M") if r.get("onset") else "—"]
                    for name, r in report["drift"].items()],
                   ["feature", "n", "PSI", "test", "p-value", "status", "PSI since onset", "onset (UTC)"], colours)
    english = alerts_table(report, french=False)
    alerts = _table(english.astype(str).values.tolist(), list(english.columns))
    plots = ""
    if len(frame):
        plots = (f"<h2>Latency, CPU and memory</h2>{_series_plots(frame, report, window)}"
                 f"<h2>Score distribution</h2>{_score_plot(frame, reference, report['threshold'])}")
    counts = ", ".join(f"{k}: {v}" for k, v in report["alert_counts"].items()) or "none"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Prediction log report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse;margin:.5em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}}th{{background:#f3f3f3}}</style>
</head><body>
<h1>Prediction log report</h1>
<p>Log: {html.escape(", ".join(report["log"]["files"]))}<br>From {html.escape(str(stats["first"]))}
to {html.escape(str(stats["last"]))} — generated {html.escape(report["generated_at"])}</p>
{summary}
{plots}
<h2>Drift — verdict: {html.escape(report["drift_verdict"]["status"])}</h2>
<p>PSI over the reference quantile bins ({html.escape(psi_bands(report))}), confirmed by a KS or chi-square test;
rows coloured by the worse of the window's status and the status since the change's onset.</p>
{drift}
{backtest_html(report)}
<h2>Performance</h2>
<p>Expected from the logged scores (confidence-based estimation: right if the scores are calibrated), realised on
the outcomes joined by applicant ({html.escape(_realised_note(report["performance"]))}), and at training.</p>
{_table(performance_rows(report["performance"]), PERFORMANCE_HEADER)}{_adviser(stats["adviser"])}
<h2>Alerts ({html.escape(counts)})</h2>
{alerts}
</body></html>
"""
