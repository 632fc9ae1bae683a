"""The self-contained HTML report (`analyse_logs.py --html`), in French: tables and matplotlib plots inlined as PNG."""

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
from matplotlib.dates import DateFormatter  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from monitoring.backtest_view import backtest_html  # noqa: E402
from monitoring.challenger import CHALLENGER_HEADER, challenger_rows  # noqa: E402
from monitoring.dashboard_data import (  # noqa: E402
    LIVE,
    MAX,
    MEAN,
    MODEL_NAME,
    REFERENCE,
    SERIES,
    adviser_table,
    alerts_table,
    drift_cells,
    drift_columns,
    drift_table,
    out_of_range_table,
    performance_table,
    replica_table,
    series,
    source_table,
    worst_status,
)
from monitoring.labels_fr import (  # noqa: E402
    KIND_FR,
    corrupt_reason_fr,
    moment_fr,
    psi_bands_fr,
    verdict_fr,
    waiting_fr,
    window_fr,
)  # noqa: E402
from monitoring.records import CPU, DURATION, MEMORY, TIME  # noqa: E402
from monitoring.report import out_of_range_summary_fr  # noqa: E402
from monitoring.style import STATUS_COLOURS, fr  # noqa: E402
from scoring.explain_format import fr_number  # noqa: E402
from scoring.schema import SCORE_KEY  # noqa: E402

FRENCH_TICKS = FuncFormatter(lambda value, _: fr_number(value))  # "0,5", "1 024": the axes read as the tables


def _png(fig: plt.Figure, alt: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _series_plots(frame: pd.DataFrame, report: dict[str, Any], window: str) -> str:
    long = series(frame, window)
    settings = report["settings"]["alerts"]
    fig, axes = plt.subplots(3, 1, figsize=(10, 7.5), sharex=True)
    limits = {DURATION: settings["slow_call_s"], CPU: settings["cpu_max"], MEMORY: settings["memory_max_mb"]}
    slow = frame[frame[DURATION] > settings["slow_call_s"]]
    for ax, (column, label) in zip(axes, SERIES.items(), strict=True):
        for statistic, style in ((MEAN, {"lw": 1.4}), (MAX, {"lw": 0.8, "alpha": 0.6})):
            part = long[(long["metric"] == label) & (long["statistic"] == statistic)]
            ax.plot(part[TIME], part["value"], label=f"{statistic} par {window_fr(window)}", **style)
        ax.axhline(limits[column], color="#c0392b", ls="--", lw=1, label=f"seuil {fr(limits[column], 'g')}")
        if column == DURATION and len(slow):
            ax.scatter(slow[TIME], slow[DURATION], s=10, color="#c0392b", label="appels lents")
        ax.set_ylabel(label)
        ax.yaxis.set_major_formatter(FRENCH_TICKS)
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].xaxis.set_major_formatter(DateFormatter("%d/%m %H:%M"))
    axes[-1].set_xlabel("heure (UTC)")
    fig.autofmt_xdate()
    return _png(fig, f"Latence, CPU et mémoire par {window_fr(window)} : moyenne, maximum et seuils")


def _score_plot(frame: pd.DataFrame, reference: dict[str, Any], threshold: float | None) -> str:
    fig, ax = plt.subplots(figsize=(10, 3.2))
    bins = np.linspace(0, 1, 41)
    sample = np.asarray(reference["features"].get(SCORE_KEY, {}).get("sample") or [], dtype=float)
    if sample.size:
        ax.hist(sample, bins=bins, density=True, alpha=0.45, label=f"{REFERENCE} (entraînement)")
    live = frame["score"].to_numpy()
    live = live[np.isfinite(live)]
    if live.size:
        ax.hist(live, bins=bins, density=True, histtype="step", lw=1.8, label=LIVE)
    if threshold is not None:
        ax.axvline(threshold, color="#c0392b", ls="--", lw=1, label=f"seuil {fr(threshold, 'g')}")
    ax.set_xlabel("score")
    ax.set_ylabel("densité")
    ax.xaxis.set_major_formatter(FRENCH_TICKS)
    ax.yaxis.set_major_formatter(FRENCH_TICKS)
    ax.legend(fontsize=8)
    return _png(fig, "Distribution des scores en production et de la référence, avec le seuil")


def _table(rows: list[list[str]], header: list[str], colours: list[str | None] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        style = f' style="background:{colours[i]}"' if colours and colours[i] else ""
        body.append(f"<tr{style}>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _frame_table(frame: pd.DataFrame, colours: list[str | None] | None = None) -> str:
    return _table(frame.astype(str).values.tolist(), list(frame.columns), colours)


def _realised_note(report: dict[str, Any]) -> str:
    real = report["performance"]["realised"]
    if real:
        return f"{fr(real['n'], ',')} issues, {fr(real['defaults'], ',')} défauts"
    return waiting_fr(report)


def _adviser(report: dict[str, Any]) -> str:
    """The advisers' final decisions by the model's decision (nothing when there is none)."""
    adviser = report["stats"]["adviser"]
    if not adviser["decisions"]:
        return ""
    return (f"<h2>Décisions des conseillers</h2><p>{fr(adviser['decisions'], ',')} décisions finales, dont "
            f"{fr(adviser['overrides'], ',')} contraires au modèle ({fr(adviser['override_rate'], '.1%')}).</p>"
            f"{_frame_table(adviser_table(report))}")


def _origins(report: dict[str, Any]) -> str:
    """Calls per source and per replica (nothing when the log does not say)."""
    parts = []
    sources = source_table(report)
    if len(sources):
        parts.append(f"<h2>Appels par origine</h2>{_frame_table(sources)}")
    replicas = replica_table(report)
    if len(replicas) > 1:
        parts.append(f"<h2>Instances</h2>{_frame_table(replicas)}")
    return "".join(parts)


def _out_of_range(report: dict[str, Any]) -> str:
    """The calls scored with a value past the training range, per feature (nothing when there is none)."""
    sentence = out_of_range_summary_fr(report["stats"].get("out_of_range"))
    if sentence is None:
        return ""
    return (f"<h2>Valeurs hors du domaine d'entraînement</h2><p>{html.escape(sentence)}.</p>"
            f"{_frame_table(out_of_range_table(report))}")


def _challenger(report: dict[str, Any]) -> str:
    rows = challenger_rows(report.get("challenger"))
    if not rows:
        return ""
    return ("<h2>Challenger (évaluation dans l'ombre)</h2>"
            + _table([list(r) for r in rows], list(CHALLENGER_HEADER)))


def _verdict(report: dict[str, Any]) -> str:
    """The drift verdict sentence (Markdown bold made HTML)."""
    text = html.escape(verdict_fr(report["drift_verdict"]))
    return text.replace("**", "<strong>", 1).replace("**", "</strong>", 1)


def render_html(report: dict[str, Any], frame: pd.DataFrame, reference: dict[str, Any], window: str = "15min") -> str:
    """The report as one HTML page in French with its plots embedded (no external file or script)."""
    stats = report["stats"]
    lat = stats["latency_s"]
    summary = _table([[
        fr(stats["count"], ","), fr(stats["errors"], ","), fr(stats["error_rate"], ".1%"),
        fr(report["corrupt_lines"], ","), *(fr(None if lat[k] is None else 1000 * lat[k], ",.1f")
                                           for k in ("p50", "p95", "p99", "max")),
        fr(stats["high_risk_share"], ".1%"),
    ]], ["Appels", "Erreurs", "Taux d'erreur", "Lignes rejetées", "Latence p50 (ms)", "p95 (ms)", "p99 (ms)",
         "max (ms)", "Part de risque élevé"])
    rejected = "".join(f"<li>ligne {e['line']} : {html.escape(corrupt_reason_fr(e['reason']))}</li>"
                       for e in report["corrupt_examples"])
    if rejected:
        rejected = f"<p>Lignes rejetées (hors de toute statistique), premiers exemples :</p><ul>{rejected}</ul>"
    table = drift_table(report)
    cells = drift_cells(table)
    colours = [STATUS_COLOURS.get(worst_status({MODEL_NAME: name}, report)) for name in cells[MODEL_NAME]]
    drift = _frame_table(cells[list(drift_columns(table))], colours)
    alerts = alerts_table(report)
    plots = ""
    if len(frame):
        plots = (f"<h2>Latence, CPU et mémoire</h2>{_series_plots(frame, report, window)}"
                 f"<h2>Distribution des scores</h2>{_score_plot(frame, reference, report['threshold'])}")
    counts = ", ".join(f"{KIND_FR.get(k, k)} : {v}" for k, v in report["alert_counts"].items())
    total = sum(report["alert_counts"].values())
    period = (f"Du {moment_fr(stats['first'])} au {moment_fr(stats['last'])} (UTC)" if stats["first"]
              else "Aucun appel dans la période")
    return f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Rapport du journal des prédictions</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse;margin:.5em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}}th{{background:#f3f3f3}}
td{{white-space:nowrap;font-variant-numeric:tabular-nums}}td:last-child{{white-space:normal}}</style>
</head><body>
<h1>Rapport du journal des prédictions</h1>
<p>Journal : {html.escape(", ".join(report["log"]["files"]))}<br>{period} — rapport établi le
{moment_fr(report["generated_at"])} (UTC)</p>
{summary}
{rejected}
{_origins(report)}
{plots}
<h2>Dérive des données</h2>
<p>{_verdict(report)}</p>
<p>PSI sur les classes de quantiles de la référence (bandes : {html.escape(psi_bands_fr(report))}), confirmé
par un test de Kolmogorov-Smirnov ou du khi-deux ; chaque ligne est colorée selon le pire du statut sur la
période et du statut depuis le début du changement.</p>
{drift}
{_out_of_range(report)}
{backtest_html(report)}
<h2>Performances</h2>
<p>Attendues d'après les scores journalisés (estimation par la confiance : juste si les scores sont calibrés),
observées sur les issues rapprochées par client ({html.escape(_realised_note(report))}), et à l'entraînement.</p>
{_frame_table(performance_table(report))}{_adviser(report)}{_challenger(report)}
<h2>Alertes : {fr(total, ",") if total else "aucune"}</h2>
{f"<p>{html.escape(counts)}</p>" if total else ""}
{_frame_table(alerts) if len(alerts) else ""}
</body></html>
"""
