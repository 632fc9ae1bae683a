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
from monitoring.labels_fr import (
    ADVISER_HEADER_FR,
    FIGURES_FR,
    KIND_FR,
    MODEL_DECISION_FR,
    PERFORMANCE_HEADER_FR,
    SEVERITY_FR,
    SOURCE_FR,
    STATUS_FR,
    corrupt_reason_fr,
    moment_fr,
    number_fr,
    psi_bands_fr,
    waiting_fr,
    window_fr,
)
from monitoring.outcomes import OutcomeConfig, Outcomes, outcome_alerts, performance, read_outcomes
from monitoring.reader import LogData, read_log, split_calls
from monitoring.records import ERROR, TIME
from monitoring.stats import MODEL_DECISIONS, UNKNOWN_SOURCE, adviser_stats, compute_stats
from monitoring.style import count_fr, fmt, fr, label_fr, p_clause, p_fr
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
    return fr(None if seconds is None else 1000 * seconds, ",.2f")


def render_text(report: dict[str, Any], max_alerts: int = 20) -> str:
    """The console report, in French (the risk analyst reads it; `--json` keeps the English keys)."""
    stats = report["stats"]
    lat = stats["latency_s"]
    verdict = report["drift_verdict"]["status"]
    out = [
        "Rapport du journal des prédictions",
        f"  journal : {', '.join(report['log']['files'])}",
        f"  période (UTC) : du {moment_fr(stats['first'])} au {moment_fr(stats['last'])}" if stats["first"]
        else "  période : aucun appel",
        "",
        f"Appels : {fr(stats['count'], ',')}  erreurs : {fr(stats['errors'], ',')} ({fr(stats['error_rate'], '.1%')})"
        f"  lignes rejetées (hors de toute statistique) : {fr(report['corrupt_lines'], ',')}"
        + "".join(f"\n  ligne {e['line']} : {corrupt_reason_fr(e['reason'])}" for e in report["corrupt_examples"]),
        f"Latence (ms) : moyenne {_ms(lat['mean'])}  p50 {_ms(lat['p50'])}  p95 {_ms(lat['p95'])}  "
        f"p99 {_ms(lat['p99'])}  max {_ms(lat['max'])}",  # milliseconds: a 0.4 ms call is not "0,000 s"
        f"CPU (%) : moyenne {fr(stats['cpu_percent']['mean'], '.1f')}  max {fr(stats['cpu_percent']['max'], '.1f')}"
        f"   Mémoire (Mo) : moyenne {fr(stats['memory_MB']['mean'], ',.0f')}  "
        f"max {fr(stats['memory_MB']['max'], ',.0f')}",
        f"Score : moyenne {fr(stats['score']['mean'])}  médiane {fr(stats['score']['p50'])}   part de risque élevé "
        f"{fr(stats['high_risk_share'], '.1%')} (référence {fr(report['reference_high_risk_share'], '.1%')})",
        "",
        f"Dérive des données par rapport à la référence (bandes de PSI : {psi_bands_fr(report)}) — verdict : "
        f"{STATUS_FR[verdict].upper()}",
        f"  {'caractéristique':<52} {'valeurs':>7} {'PSI':>7} {'test':>5} {'p-valeur':>9}  statut",
    ]
    for name, result in report["drift"].items():
        p = result.get("p_value")
        out.append(f"  {label_fr(name)[:52]:<52} {fr(result.get('n', 0), ','):>7} {fr(result.get('psi')):>7} "
                   f"{result.get('test') or '—':>5} {p_fr(p):>9}  {STATUS_FR[result['status']]}")
    sources = stats.get("sources") or {}
    if set(sources) - {UNKNOWN_SOURCE}:
        out += ["", "Appels par origine : " + ", ".join(f"{SOURCE_FR.get(name, name)} {fr(s['count'], ',')} "
                                                       f"({fr(s['share'], '.1%')})" for name, s in sources.items())]
    replicas = stats.get("replicas") or {}
    if len(replicas) > 1:
        head = (f"  {'instance':<24} {'appels':>8} {'erreurs':>7} {'taux':>7} {'p50 (ms)':>9} {'p95 (ms)':>9} "
                f"{'max (ms)':>9}")
        out += ["", f"Instances : {len(replicas)}", head]
        for name, r in replicas.items():
            lat = r["latency_s"]
            out.append(f"  {name[:24]:<24} {fr(r['count'], ','):>8} {fr(r['errors'], ','):>7} "
                       f"{fr(r['error_rate'], '.1%'):>7} {_ms(lat['p50']):>9} {_ms(lat['p95']):>9} "
                       f"{_ms(lat['max']):>9}")
    out += out_of_range_lines(stats.get("out_of_range"))
    out += performance_lines(report)
    out += stability_lines(report)
    out += adviser_lines(stats["adviser"])
    out += challenger_lines(report.get("challenger"))
    alerts = report["alerts"]
    total = sum(report["alert_counts"].values())
    counts = ", ".join(f"{KIND_FR.get(k, k)} : {v}" for k, v in report["alert_counts"].items())
    out += ["", f"Alertes : {total}" + (f" ({counts})" if total else " — aucune")]
    for alert in alerts[:max_alerts]:
        where = alert["where"]
        severity = f"[{SEVERITY_FR.get(alert['severity'], alert['severity'])}]"
        out.append(f"  {severity:<15} {KIND_FR.get(alert['kind'], alert['kind']):<21} {moment_fr(alert['start'])}  "
                   f"{alert.get('message_fr') or alert['message']}  "
                   f"({Path(where['file']).name}:{where['line'] or '—'})")
    if total > min(len(alerts), max_alerts):
        out.append(f"  ... et {total - min(len(alerts), max_alerts)} autres (voir --json / --html)")
    return "\n".join(out) + "\n"


def out_of_range_summary_fr(found: dict[str, Any] | None) -> str | None:
    """The sentence on the scored calls with a value past the training range (None when there is none)."""
    if not found or not found["calls"]:
        return None
    return (f"{count_fr(found['calls'], 'appel noté')} sur {fr(found['scored'], ',')} "
            f"({fr(found['share'], '.1%')}) avec au moins une valeur hors du domaine d'entraînement (élargi de 10 %) : "
            "notés et signalés, le modèle y extrapole")


def out_of_range_lines(found: dict[str, Any] | None) -> list[str]:
    """The console report's lines on the calls flagged out of the training range, per feature."""
    sentence = out_of_range_summary_fr(found)
    if sentence is None:
        return []
    return ["", sentence] + [
        f"  {label_fr(name)[:52]:<52} {count_fr(n, 'appel')}" for name, n in found["features"].items()]


def stability_lines(report: dict[str, Any]) -> list[str]:
    """The score PSI, top movers (French names) and the per-grade back-test, in a few console lines."""
    stable, tested = report.get("stability"), report.get("backtest")
    if not stable:
        return []
    overall = stable["overall"]
    movers = ", ".join(f"{m['label']} {fr(m['csi'])}" for m in overall["top_movers"]) or "—"
    title = f"Stabilité (fenêtres de {window_fr(stable['window'])})"
    out = ["", f"{title} : PSI du score {fr(overall['score_psi'])} ; plus forts mouvements (CSI) : {movers}"]
    if overall.get("judged") is False:
        out[-1] = (f"{title} : non calculée, {count_fr(overall['n'], 'appel')} "
                   f"(il en faut au moins {fr(overall['min_window'], ',')})")
    if tested:
        failed = [g["grade"] for g in tested["grades"] if g["failed"]]
        out.append(f"Back-test par classe (Jeffreys, {fr(tested['alpha'], 'g')} sur l'ensemble de l'échelle) : "
                   + (f"PD SOUS-ESTIMÉE pour {', '.join(failed)}" if failed else "toutes les classes jugées sont "
                                                                                 "conformes"))
        change = tested.get("auc_change")
        if change:
            out.append(f"AUC sur les issues {fr(change['auc_now'])} contre {fr(change['auc_development'])} au "
                       f"développement ({p_clause(change['p_value_fell'], 'p unilatéral')})")
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


def performance_lines(report: dict[str, Any]) -> list[str]:
    """The console's performance section, in French."""
    perf = report["performance"]
    real = perf["realised"]
    n_est = (perf["estimated"] or {}).get("n", 0)
    title = (f"Performances : attendues d'après {fr(n_est, ',')} scores (s'ils sont calibrés) ; observées "
             + (f"sur {fr(real['n'], ',')} issues ({fr(real['defaults'], ',')} défauts)" if real
                else f"— {waiting_fr(report)}"))
    head = PERFORMANCE_HEADER_FR
    out = ["", title, f"  {head[0]:<42} {'attendu':>9} {'observé':>9} {'entraînement':>13}"]
    out += [f"  {FIGURES_FR.get(name, name):<42} {number_fr(a):>9} {number_fr(b):>9} {number_fr(c):>13}"
            for name, a, b, c in performance_rows(perf)]
    return out


def adviser_rows(adviser: dict[str, Any]) -> list[list[str]]:
    """The advisers' decisions by the model's decision (accept, refuse, review), then all of them."""
    parts = [(name, adviser["by_model_decision"][name]) for name in MODEL_DECISIONS] + [("all", adviser)]
    return [[name, str(p["decisions"]), str(p["accepted"]), str(p["refused"]), str(p["overrides"]),
             fmt(p["override_rate"], ".1%")] for name, p in parts]


def adviser_rows_fr(adviser: dict[str, Any]) -> list[list[str]]:
    """The same rows as the analyst reads them (French decisions and numbers); none when there is no decision."""
    rows = adviser_rows(adviser) if adviser["decisions"] else []
    return [[MODEL_DECISION_FR.get(name, name), *(number_fr(c) for c in cells)] for name, *cells in rows]


def adviser_lines(adviser: dict[str, Any]) -> list[str]:
    """The console's section on the advisers' final decisions (nothing when there is none)."""
    if not adviser["decisions"]:
        return []
    widths = [max(12, len(h) + 2) for h in ADVISER_HEADER_FR]
    out = ["", f"Décisions des conseillers : {fr(adviser['decisions'], ',')}  contraires au modèle : "
               f"{fr(adviser['overrides'], ',')} ({fr(adviser['override_rate'], '.1%')})",
           "  " + "".join(f"{h:>{w}}" for h, w in zip(ADVISER_HEADER_FR, widths, strict=True))]
    return out + ["  " + "".join(f"{c:>{w}}" for c, w in zip(row, widths, strict=True))
                  for row in adviser_rows_fr(adviser)]


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
