"""The monitoring report: what `analyse_logs.py` prints, writes as JSON, and the dashboard shows."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monitoring.alerts import AlertConfig, all_alerts, override_rate
from monitoring.backtest import BacktestConfig, backtest, stability
from monitoring.backtest_alerts import backtest_alerts
from monitoring.challenger import challenger_alerts, challenger_lines, challenger_stats
from monitoring.context import ModelContext, load_context
from monitoring.drift import (
    DRIFT,
    WATCH,
    DriftConfig,
    Onset,
    dataset_verdict,
    drift_onset,
    drift_report,
    feature_drift,
)
from monitoring.outcomes import OutcomeConfig, Outcomes, outcome_alerts, performance, read_outcomes
from monitoring.reader import LogData, read_log, split_calls
from monitoring.records import ERROR, TIME
from monitoring.stats import MODEL_DECISIONS, UNKNOWN_SOURCE, adviser_stats, compute_stats
from monitoring.style import fmt, psi_bands
from scoring.schema import SCORE_KEY, UI_FEATURE_NAMES


def parse_moment(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 time ("2026-11-26T10:00", UTC when no offset) or a duration back from now ("2h", "30min")."""
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        delta = pd.Timedelta(text)
    except ValueError:
        delta = None
    if delta is None or pd.isna(delta) or not any(c.isalpha() for c in text):
        raise ValueError(f"{text!r} is neither an ISO 8601 time (2026-11-26T10:00:00) nor a duration (2h, 30min)")
    return (now or datetime.now(UTC)) - delta.to_pytimedelta()


def drift_columns(data: LogData) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Live values per UI feature and score, from successful calls only; and their frame rows."""
    frame = data.frame
    ok_rows = np.flatnonzero(~frame[ERROR].to_numpy())
    columns = {name: frame[name].to_numpy()[ok_rows] for name in (*UI_FEATURE_NAMES, SCORE_KEY)}
    return columns, ok_rows


def build_report(data: LogData, context: ModelContext, drift_config: DriftConfig | None = None,
                 alert_config: AlertConfig | None = None, since: datetime | None = None,
                 until: datetime | None = None, outcomes: Outcomes | None = None,
                 outcome_config: OutcomeConfig | None = None,
                 backtest_config: BacktestConfig | None = None) -> dict[str, Any]:
    """The whole report as a JSON-ready document (keys: stats, drift, drift_verdict, alerts, corrupt_lines...):
    the one serialised form of the drift results and alerts (dataclasses), which `--json`, the HTML page and
    the dashboard all read. The advisers' decision lines are not calls: they make `stats["adviser"]` and the
    override-rate alert only."""
    data, decisions = split_calls(data)
    drift_config = drift_config or DriftConfig()
    alert_config = alert_config or AlertConfig()
    columns, ok_rows = drift_columns(data)
    drift = drift_report(context.reference, columns, drift_config)
    segment = max(drift_config.min_samples, len(ok_rows) // 20)
    for name, result in drift.items():
        significant = result.p_value is not None and result.p_value < drift_config.alpha
        if result.status not in (WATCH, DRIFT) and not significant:
            continue
        # Where did it start? A drift that began late in the window is diluted by the calls before it
        # (a "watch", or "stable" with a significant test, over the window); measured from its onset it
        # may be a clear "drift".
        entry = context.reference["features"][name]
        values = columns[name]
        finite = np.flatnonzero(np.isfinite(values))
        onset = drift_onset(entry, values[finite], segment, drift_config)
        if onset is not None:
            row = int(ok_rows[finite[onset]])
            since_onset = feature_drift(entry, values[finite][onset:], drift_config)
            drift[name] = replace(result, onset=Onset(row, data.frame[TIME].iat[row].isoformat(), data.where(row),
                                                      since_onset))
    alerts, counts = all_alerts(data, drift, alert_config, context.reference_high_risk_share, drift_config.psi_drift)
    outcome_config = outcome_config or OutcomeConfig()
    perf, joined = performance(data.frame, outcomes, context.metrics, outcome_config)
    for found in outcome_alerts(data, perf, joined, outcome_config):
        alerts.append(found)
        counts[found.kind] = counts.get(found.kind, 0) + 1
    backtest_config = backtest_config or BacktestConfig()
    times = data.frame[TIME].iloc[ok_rows]
    stable = stability(times, context.reference, columns, context.master_scale, backtest_config)
    tested = backtest(joined, context.master_scale, context.metrics, backtest_config)
    for found in backtest_alerts(data, tested, joined):
        alerts.append(found)
        counts[found.kind] = counts.get(found.kind, 0) + 1
    for found in override_rate(decisions, alert_config):
        alerts.append(found)
        counts[found.kind] = counts.get(found.kind, 0) + 1
    shadow = challenger_stats(data)
    for found in challenger_alerts(data, shadow, alert_config):
        alerts.append(found)
        counts[found.kind] = counts.get(found.kind, 0) + 1
    return _clean({
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "log": {"files": data.files, "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None},
        "model_dir": str(context.directory),
        "threshold": context.threshold,
        "reference_high_risk_share": context.reference_high_risk_share,
        "settings": {"drift": asdict(drift_config), "alerts": asdict(alert_config),
                     "outcomes": asdict(outcome_config), "backtest": asdict(backtest_config)},
        "stats": compute_stats(data.frame) | {"adviser": adviser_stats(decisions.frame)},
        "drift": drift,
        "drift_verdict": dataset_verdict(drift, drift_config),
        "alerts": alerts,
        "alert_counts": counts,
        "performance": perf,
        "challenger": shadow,
        "stability": stable,
        "backtest": tested,
        "corrupt_lines": data.corrupt_lines,
        "corrupt_examples": data.corrupt_examples,
    })


def _clean(value: Any) -> Any:
    """JSON-safe copy: dataclasses of the report by their `to_dict`, NaN/inf -> None, numpy scalars -> Python
    numbers."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False)


def _ms(seconds: float | None) -> str:
    return fmt(None if seconds is None else 1000 * seconds, ".2f")


def render_text(report: dict[str, Any], max_alerts: int = 20) -> str:
    """The console report."""
    stats = report["stats"]
    lat = stats["latency_s"]
    out = [
        "Prediction log report",
        f"  log: {', '.join(report['log']['files'])}",
        f"  window: {stats['first'] or '—'} → {stats['last'] or '—'}",
        "",
        f"Calls: {stats['count']}  errors: {stats['errors']} ({fmt(stats['error_rate'], '.1%')})  "
        f"rejected lines (lignes rejetées, in no statistic): {report['corrupt_lines']}"
        + "".join(f"\n  line {e['line']}: {e['reason']}" for e in report["corrupt_examples"]),
        f"Latency (ms): mean {_ms(lat['mean'])}  p50 {_ms(lat['p50'])}  p95 {_ms(lat['p95'])}  "
        f"p99 {_ms(lat['p99'])}  max {_ms(lat['max'])}",  # milliseconds: a 0.4 ms call is not "0.000 s"
        f"CPU (%): mean {fmt(stats['cpu_percent']['mean'], '.1f')}  max {fmt(stats['cpu_percent']['max'], '.1f')}"
        f"   Memory (MB): mean {fmt(stats['memory_MB']['mean'], '.0f')}  max {fmt(stats['memory_MB']['max'], '.0f')}",
        f"Score: mean {fmt(stats['score']['mean'])}  p50 {fmt(stats['score']['p50'])}   high-risk share "
        f"{fmt(stats['high_risk_share'], '.1%')} (reference {fmt(report['reference_high_risk_share'], '.1%')})",
        "",
        f"Drift against the reference (PSI bands {psi_bands(report)}) — verdict: "
        f"{report['drift_verdict']['status'].upper()}",
        f"  {'feature':<52} {'n':>7} {'PSI':>7} {'test':>5} {'p-value':>9}  status",
    ]
    for name, result in report["drift"].items():
        p = result.get("p_value")
        out.append(f"  {name:<52} {result.get('n', 0):>7} {fmt(result.get('psi')):>7} "
                   f"{result.get('test') or '—':>5} {'—' if p is None else format(p, '.1e'):>9}  {result['status']}")
    sources = stats.get("sources") or {}
    if set(sources) - {UNKNOWN_SOURCE}:
        out += ["", "Calls per source: " + ", ".join(f"{name} {s['count']} ({fmt(s['share'], '.1%')})"
                                                   for name, s in sources.items())]
    replicas = stats.get("replicas") or {}
    if len(replicas) > 1:
        head = f"  {'replica':<24} {'calls':>8} {'errors':>7} {'rate':>6} {'p50 (s)':>8} {'p95 (s)':>8} {'max (s)':>8}"
        out += ["", f"Replicas: {len(replicas)}", head]
        for name, r in replicas.items():
            lat = r["latency_s"]
            out.append(f"  {name[:24]:<24} {r['count']:>8} {r['errors']:>7} {fmt(r['error_rate'], '.1%'):>6} "
                       f"{fmt(lat['p50']):>8} {fmt(lat['p95']):>8} {fmt(lat['max']):>8}")
    out += performance_lines(report["performance"])
    out += stability_lines(report)
    out += adviser_lines(stats["adviser"])
    out += challenger_lines(report.get("challenger"))
    alerts = report["alerts"]
    total = sum(report["alert_counts"].values())
    out += ["", f"Alerts: {total}" + (f" ({', '.join(f'{k}: {v}' for k, v in report['alert_counts'].items())})"
                                      if total else " — none")]
    for alert in alerts[:max_alerts]:
        where = alert["where"]
        out.append(f"  [{alert['severity']}] {alert['kind']:<15} {alert['start'] or '—'}  {alert['message']}  "
                   f"({Path(where['file']).name}:{where['line'] or '—'})")
    if total > min(len(alerts), max_alerts):
        out.append(f"  ... and {total - min(len(alerts), max_alerts)} more (see --json / --html)")
    return "\n".join(out) + "\n"


def stability_lines(report: dict[str, Any]) -> list[str]:
    """The score PSI, top movers (French names) and the per-grade back-test, in a few console lines."""
    stable, tested = report.get("stability"), report.get("backtest")
    if not stable:
        return []
    overall = stable["overall"]
    movers = ", ".join(f"{m['label']} {fmt(m['csi'])}" for m in overall["top_movers"]) or "—"
    out = ["", f"Stability (windows of {stable['window']}): score PSI {fmt(overall['score_psi'])}; top movers (CSI): "
               f"{movers}"]
    if overall.get("judged") is False:
        out[-1] = (f"Stability (windows of {stable['window']}): not computed, {overall['n']} calls "
                   f"(at least {overall['min_window']} needed)")
    if tested:
        failed = [g["grade"] for g in tested["grades"] if g["failed"]]
        out.append(f"Back-test per grade (Jeffreys, {tested['alpha']:g} over the scale): "
                   + (f"FAILED {', '.join(failed)}" if failed else "every judged grade passes"))
        change = tested.get("auc_change")
        if change:
            out.append(f"AUC on outcomes {fmt(change['auc_now'])} vs {fmt(change['auc_development'])} at development "
                       f"(one-sided p = {change['p_value_fell']:.2g})")
    return out


def performance_rows(perf: dict[str, Any]) -> list[list[str]]:
    """The performance table: one row per figure, columns expected (from the scores), realised (on the
    outcomes), training."""
    est, real, train = perf["estimated"] or {}, perf["realised"] or {}, perf["training"]

    def by(doc: dict[str, Any], decision: str) -> float | None:
        return ((doc.get("by_decision") or {}).get(decision) or {}).get("default_rate")

    rows = [("AUC", est.get("auc"), real.get("auc"), train.get("auc"), ".3f"),
            ("default rate", est.get("default_rate"), real.get("default_rate"), None, ".1%"),
            ("default rate, low-risk decisions", by(est, "0"), by(real, "0"), None, ".1%"),
            ("default rate, high-risk decisions", by(est, "1"), by(real, "1"), train.get("precision"), ".1%"),
            ("defaulters flagged high risk (recall)", est.get("recall"), real.get("recall"), train.get("recall"),
             ".1%"),
            ("Brier score", est.get("brier"), (real.get("calibration") or {}).get("brier"), train.get("brier"), ".4f"),
            ("calibration error (ECE)", None, (real.get("calibration") or {}).get("ece"), train.get("ece"), ".4f")]
    return [[name, fmt(a, spec), fmt(b, spec), fmt(c, spec)] for name, a, b, c, spec in rows]


PERFORMANCE_HEADER = ["figure", "expected from the scores", "realised on outcomes", "training"]


def performance_lines(perf: dict[str, Any]) -> list[str]:
    """The console's performance section."""
    real = perf["realised"]
    n_est = (perf["estimated"] or {}).get("n", 0)
    title = (f"Performance: expected from {n_est} scores (if calibrated); realised "
             + (f"on {real['n']} outcomes ({real['defaults']} defaults)" if real else f"— {perf['waiting_for']}"))
    out = ["", title, f"  {PERFORMANCE_HEADER[0]:<40} {'expected':>9} {'realised':>9} {'training':>9}"]
    out += [f"  {name:<40} {a:>9} {b:>9} {c:>9}" for name, a, b, c in performance_rows(perf)]
    return out


ADVISER_HEADER = ["model decision", "decisions", "accepted", "refused", "overrides", "override rate"]


def adviser_rows(adviser: dict[str, Any]) -> list[list[str]]:
    """The advisers' decisions by the model's decision (accept, refuse, review), then all of them."""
    parts = [(name, adviser["by_model_decision"][name]) for name in MODEL_DECISIONS] + [("all", adviser)]
    return [[name, str(p["decisions"]), str(p["accepted"]), str(p["refused"]), str(p["overrides"]),
             fmt(p["override_rate"], ".1%")] for name, p in parts]


def adviser_lines(adviser: dict[str, Any]) -> list[str]:
    """The console's section on the advisers' final decisions (nothing when there is none)."""
    if not adviser["decisions"]:
        return []
    out = ["", f"Adviser decisions: {adviser['decisions']}  overrides: {adviser['overrides']} "
               f"({fmt(adviser['override_rate'], '.1%')})",
           "  " + "".join(f"{h:>15}" for h in ADVISER_HEADER)]
    return out + ["  " + "".join(f"{cell:>15}" for cell in row) for row in adviser_rows(adviser)]


def analyse(log: Path | str, model_dir: Path | str, since: datetime | None = None, until: datetime | None = None,
            drift_config: DriftConfig | None = None, alert_config: AlertConfig | None = None,
            outcomes: Path | str | None = None,
            outcome_config: OutcomeConfig | None = None,
            backtest_config: BacktestConfig | None = None) -> tuple[dict[str, Any], LogData, ModelContext]:
    """Read the log (with rotated files), the outcome file if any, and build the report; also the calls read
    (without the advisers' decision lines) and the model context. Raises LogReadError / ContextError /
    OutcomeError."""
    context = load_context(model_dir)
    data = read_log(log, since, until)
    found = read_outcomes(outcomes) if outcomes is not None else None
    return (build_report(data, context, drift_config, alert_config, since, until, found, outcome_config,
                         backtest_config),
            split_calls(data)[0], context)
