"""The challenger scored in the shadow (api/shadow.py): how often it agrees with the champion, and what it costs.

Read from the calls' own lines (the champion's decision `prediction.decision`, the challenger's
`challenger_decision`): the agreement rate, the decisions that would flip (accepted -> refused and
refused -> accepted), the mean score shift (challenger - champion), the challenger's own time on the
worker and the champion's latency on the shadowed calls against the others (the latency cost). One alert
(`challenger`) when they disagree on more than `AlertConfig.challenger_disagreement_max` of at least
`min_shadowed` calls. The report's words here are French (the dashboard shows them as they are).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitoring.alerts import WARNING, Alert, AlertConfig, alert
from monitoring.reader import LogData
from monitoring.records import (
    CHALLENGER_DECISION,
    CHALLENGER_DURATION,
    CHALLENGER_SCORE,
    CHALLENGER_SKIPPED,
    CHALLENGER_VERSION,
    DURATION,
    ERROR,
    HIGH_RISK,
    SCORE,
    VERSION,
)
from monitoring.style import fr
from scoring.schema import SKIPPED_QUEUE_FULL, SKIPPED_SAMPLED_OUT, SKIPPED_WORKER_DOWN

CHALLENGER = "challenger"  # the alert's kind and the report's key


def _quantiles(values: np.ndarray) -> dict[str, float | None]:
    values = values[np.isfinite(values)]
    if not values.size:
        return {"mean": None, "p50": None, "p99": None}
    return {"mean": float(values.mean()), "p50": float(np.percentile(values, 50)),
            "p99": float(np.percentile(values, 99))}


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{fr(seconds * 1000, ',.2f')}\u202fms"


def shadowed_rows(data: LogData) -> np.ndarray:
    """Row numbers of the calls both models decided (champion's decision and challenger's, both known)."""
    frame = data.frame
    ok = ~frame[ERROR].to_numpy(dtype=bool)
    both = (np.isfinite(frame[HIGH_RISK].to_numpy(np.float64))
            & np.isfinite(frame[CHALLENGER_DECISION].to_numpy(np.float64)))
    return np.flatnonzero(ok & both)


def challenger_stats(data: LogData) -> dict[str, Any] | None:
    """The section's figures; None when no call carries a challenger's answer."""
    frame = data.frame
    rows = shadowed_rows(data)
    if not rows.size:
        return None
    champion = frame[HIGH_RISK].to_numpy(np.float64)[rows]
    challenger = frame[CHALLENGER_DECISION].to_numpy(np.float64)[rows]
    shift = (frame[CHALLENGER_SCORE].to_numpy(np.float64) - frame[SCORE].to_numpy(np.float64))[rows]
    to_refused = int(np.sum((champion == 0) & (challenger == 1)))
    to_accepted = int(np.sum((champion == 1) & (challenger == 0)))
    n = int(rows.size)
    calls = ~frame[ERROR].to_numpy(dtype=bool)
    shadowed = np.zeros(len(frame), dtype=bool)
    shadowed[rows] = True
    durations = frame[DURATION].to_numpy(np.float64)
    return {
        "calls": n,
        "calls_without_challenger": int(np.sum(calls & ~shadowed)),
        # why the challenger did not score a call (api/shadow.py): sampled_out, queue_full, worker_down
        "skipped": {str(k): int(v) for k, v in frame[CHALLENGER_SKIPPED].value_counts().items() if v},
        "challenger_versions": {str(k): int(v) for k, v in frame[CHALLENGER_VERSION].iloc[rows].value_counts().items()
                                if v},
        "champion_versions": {str(k): int(v) for k, v in frame[VERSION].iloc[rows].value_counts().items() if v},
        "agreement_rate": float(np.mean(champion == challenger)),
        "disagreement_rate": float(np.mean(champion != challenger)),
        "flips": {"accepted_to_refused": to_refused, "refused_to_accepted": to_accepted},
        "mean_score_shift": float(np.nanmean(shift)),
        "mean_abs_score_shift": float(np.nanmean(np.abs(shift))),
        "challenger_duration_s": _quantiles(frame[CHALLENGER_DURATION].to_numpy(np.float64)[rows]),
        "champion_latency_s": {"shadowed": _quantiles(durations[rows]),
                               "not_shadowed": _quantiles(durations[calls & ~shadowed])},
    }


def challenger_alerts(data: LogData, stats: dict[str, Any] | None, config: AlertConfig | None = None) -> list[Alert]:
    config = config or AlertConfig()
    if not stats or stats["calls"] < config.min_shadowed:
        return []
    rate = stats["disagreement_rate"]
    if rate <= config.challenger_disagreement_max:
        return []
    rows = shadowed_rows(data)
    flips = stats["flips"]
    return [alert(CHALLENGER, data, int(rows[0]), int(rows[-1]), rate, config.challenger_disagreement_max,
                  f"le challenger décide autrement sur {rate:.1%} des {stats['calls']} appels "
                  f"(> {config.challenger_disagreement_max:.0%}) : {flips['accepted_to_refused']} accordés → refusés, "
                  f"{flips['refused_to_accepted']} refusés → accordés", WARNING,
                  message_fr=f"le challenger décide autrement sur {fr(rate, '.1%')} des {stats['calls']} appels "
                  f"(seuil {fr(config.challenger_disagreement_max, '.0%')}) : {flips['accepted_to_refused']} "
                  f"accordés → refusés, {flips['refused_to_accepted']} refusés → accordés")]


SKIPPED_WORDS = {SKIPPED_SAMPLED_OUT: "hors échantillon", SKIPPED_QUEUE_FULL: "file pleine",
                 SKIPPED_WORKER_DOWN: "processus arrêté"}


def _skipped(stats: dict[str, Any]) -> str:
    """« 12 (hors échantillon 10, file pleine 2) »: the calls the challenger did not score, and why."""
    skipped = stats["skipped"]
    parts = ", ".join(f"{SKIPPED_WORDS.get(k, k)} {fr(v, ',')}" for k, v in skipped.items())
    return f"{fr(sum(skipped.values()), ',')} ({parts})"


def challenger_lines(stats: dict[str, Any] | None) -> list[str]:
    """The console report's French section."""
    if not stats:
        return []

    flips = stats["flips"]
    lat = stats["champion_latency_s"]
    return [
        "",
        f"Challenger (évaluation dans l'ombre) : {fr(stats['calls'], ',')} appels notés par les deux modèles "
        f"(challenger {', '.join(stats['challenger_versions'])} ; champion {', '.join(stats['champion_versions'])})",
        f"  accord : {fr(stats['agreement_rate'], '.1%')}  décisions qui changeraient : {flips['accepted_to_refused']} "
        f"accordé → refusé, {flips['refused_to_accepted']} refusé → accordé",
        *([f"  appels non notés par le challenger : {_skipped(stats)}"] if stats.get("skipped") else []),
        f"  écart moyen de score (challenger − champion) : {fr(stats['mean_score_shift'], '+.4f')} "
        f"(écart absolu moyen {fr(stats['mean_abs_score_shift'], '.4f')})",
        f"  coût en latence : challenger {_ms(stats['challenger_duration_s']['mean'])} par appel (hors réponse) ; "
        f"p99 du champion {_ms(lat['shadowed']['p99'])} avec l'ombre, {_ms(lat['not_shadowed']['p99'])} sans",
    ]


CHALLENGER_HEADER = ("Indicateur", "Valeur")


def challenger_rows(stats: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The dashboard's French table (no row without a challenger)."""
    if not stats:
        return []

    flips, lat = stats["flips"], stats["champion_latency_s"]
    return [
        ("Appels notés par les deux modèles", fr(stats["calls"], ",")),
        ("Challenger", ", ".join(stats["challenger_versions"])),
        ("Taux d'accord", fr(stats["agreement_rate"], ".1%")),
        ("Appels non notés par le challenger", _skipped(stats) if stats.get("skipped") else "0"),
        ("Accordé → refusé (décisions qui changeraient)", str(flips["accepted_to_refused"])),
        ("Refusé → accordé (décisions qui changeraient)", str(flips["refused_to_accepted"])),
        ("Écart moyen de score (challenger − champion)", fr(stats["mean_score_shift"], "+.4f")),
        ("Temps du challenger par appel (hors réponse)", _ms(stats["challenger_duration_s"]["mean"])),
        ("p99 du champion avec l'ombre / sans", f"{_ms(lat['shadowed']['p99'])} / {_ms(lat['not_shadowed']['p99'])}"),
    ]
