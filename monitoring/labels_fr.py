"""The dashboard's French words for what the report names in English (statuses, alert kinds and severities,
call sources, performance figures, adviser decisions): the report's JSON keeps its English names (the
`analyse_logs.py --json` contract); the risk analyst reads these."""

from __future__ import annotations

import re
from typing import Any

from monitoring.drift import DRIFT, INSUFFICIENT, STABLE, WATCH
from monitoring.stats import UNKNOWN_SOURCE
from monitoring.style import MISSING, count_fr, fr, label_fr
from scoring.schema import (
    ADVISER_ACCEPT,
    ADVISER_REFUSE,
    LOG_SOURCES,
    MODEL_REVIEW,
    SOURCE_API,
    SOURCE_BATCH,
    SOURCE_DOSSIER,
    SOURCE_FORM,
    SOURCE_WHAT_IF,
)

STATUS_FR = {STABLE: "stable", WATCH: "à surveiller", DRIFT: "dérive", INSUFFICIENT: "non calculé"}
SEVERITY_FR = {"warning": "avertissement", "critical": "critique"}
KIND_FR = {
    "latency": "appel lent", "latency_trend": "latence en hausse", "cpu": "CPU", "memory": "mémoire",
    "error_rate": "taux d'erreur", "high_risk_share": "part de risque élevé", "drift": "dérive",
    "corrupt_lines": "lignes illisibles", "override_rate": "décisions contraires", "outcome_auc": "AUC observée",
    "outcome_recall": "rappel observé", "calibration": "calibration", "grade_backtest": "back-test par classe",
    "auc_fall": "baisse de l'AUC", "challenger": "challenger", "out_of_range": "hors domaine",
}
SOURCE_FR = {SOURCE_FORM: "formulaire", SOURCE_API: "API JSON", SOURCE_BATCH: "lot (batch)",
             SOURCE_DOSSIER: "dossier", SOURCE_WHAT_IF: "simulation (what-if)",
             UNKNOWN_SOURCE: "non renseignée (anciens enregistrements)"}
assert set(LOG_SOURCES) <= set(SOURCE_FR)
FIGURES_FR = {
    "AUC": "AUC", "default rate": "taux de défaut", "default rate, low-risk decisions": "taux de défaut, faible risque",
    "default rate, high-risk decisions": "taux de défaut, risque élevé",
    "defaulters flagged high risk (recall)": "défaillants signalés à risque (rappel)", "Brier score": "score de Brier",
    "calibration error (ECE)": "erreur de calibration (ECE)",
}
PERFORMANCE_HEADER_FR = ["Indicateur", "Attendu d'après les scores", "Observé sur les issues", "Entraînement"]
MODEL_DECISION_FR = {ADVISER_ACCEPT: "accepter", ADVISER_REFUSE: "refuser", MODEL_REVIEW: "à étudier", "all": "toutes"}
ADVISER_HEADER_FR = ["Décision du modèle", "Décisions", "Acceptées", "Refusées", "Contraires au modèle",
                     "Taux de décisions contraires"]
_NUMBER = re.compile(r"[-+]?\d[\d,]*(\.\d+)?(e[-+]?\d+)?%?")


def number_fr(text: str) -> str:
    """A number the report wrote in English ("0.123", "1,234", "12.5%") written the French way; other text as is."""
    if not _NUMBER.fullmatch(text):
        return text
    out = text.replace(",", "\u202f").replace(".", ",")
    return out[:-1] + "\u202f%" if out.endswith("%") else out


def reason_fr(result: dict[str, Any], min_samples: int) -> str:
    """Why a feature's drift was not computed, in French ("" when it was)."""
    if result.get("status") != INSUFFICIENT:
        return ""
    if "absent" in (result.get("reason") or ""):
        return "absente de la référence du modèle (reference.json)"
    return f"{count_fr(result.get('n', 0), 'valeur connue', 'valeurs connues')}, {min_samples} nécessaires"


def verdict_fr(verdict: dict[str, Any]) -> str:
    """The drift verdict of the whole input as one French sentence (Markdown)."""
    status = verdict["status"]
    if status == INSUFFICIENT:
        return ("**Dérive des données : non calculée** — pas assez d'appels dans la fenêtre pour la juger "
                f"({_measured(verdict, 'mesurable')} sur {verdict['features']}).")
    parts = []
    if verdict["drifted"]:
        parts.append("en dérive : " + ", ".join(label_fr(n) for n in verdict["drifted"]))
    if verdict["watched"]:
        parts.append("à surveiller : " + ", ".join(label_fr(n) for n in verdict["watched"]))
    if verdict["score"] != STABLE:
        parts.append(f"score : {STATUS_FR[verdict['score']]}")
    detail = " ; ".join(parts) if parts else "aucune caractéristique ne bouge"
    return (f"**Dérive des données : {STATUS_FR[status]}** — {detail} "
            f"({_measured(verdict, 'mesurée')} sur {verdict['features']}).")


def _measured(verdict: dict[str, Any], adjective: str) -> str:
    return count_fr(verdict["measured"], f"caractéristique {adjective}")


def psi_bands_fr(report: dict[str, Any]) -> str:
    """The PSI bands the report was made with, e.g. "0,1 à surveiller, 0,25 dérive"."""
    drift = report["settings"]["drift"]
    return f"{fr(drift['psi_watch'], 'g')} à surveiller, {fr(drift['psi_drift'], 'g')} dérive"


def age_fr(minutes: float) -> str:
    """How long ago, in French: "il y a 12 min", "il y a 3 h 05", "il y a 10 j 7 h"."""
    minutes = max(0, round(minutes))
    if minutes < 60:
        return f"il y a {minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"il y a {hours} h {rest:02d}"
    return f"il y a {hours // 24} j {hours % 24} h"


# Why a log line is corrupt (monitoring.records), by the start of the English reason
_CORRUPT_FR = (("not valid JSON", "JSON invalide"), ("not a JSON object", "pas un objet JSON"),
               ("missing or invalid timestamp", "horodatage absent ou invalide"),
               ("timestamp outside", "horodatage hors de la période plausible"),
               ("line longer than", "ligne trop longue"))


def corrupt_reason_fr(reason: str) -> str:
    """A corrupt line's reason in French (a field's own name kept: "duration : nombre attendu")."""
    for english, french in _CORRUPT_FR:
        if reason.startswith(english):
            return french
    field = reason.split(":")[0].split(" missing")[0].strip()
    if "expected a number" in reason:
        return f"{field} : nombre attendu"
    if "missing or outside" in reason:
        return f"{field} : absent ou hors des bornes plausibles"
    return "format inattendu"


def moment_fr(iso: str | None) -> str:
    """An ISO 8601 time day first, as the analyst reads it: "26/11/2026 10:00:00" ("—" when there is none)."""
    if not iso:
        return MISSING
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]} {iso[11:19]}".rstrip()


def waiting_fr(report: dict[str, Any]) -> str:
    """Why the realised performance is not reported yet, in French (the report's `waiting_for` is English)."""
    found, need = report["performance"].get("outcomes"), report["settings"]["outcomes"]
    if not found:
        return "pas de fichier d'issues (--outcomes)"
    return (f"{found['joined']} issues rapprochées ({found['defaults']} défauts) : il en faut au moins "
            f"{need['min_outcomes']}, dont {need['min_each']} défauts et {need['min_each']} remboursements")


_UNITS_FR = {"D": ("jour", "jours"), "W": ("semaine", "semaines"), "h": ("heure", "heures"),
             "min": ("minute", "minutes"), "s": ("seconde", "secondes")}


def window_fr(offset: str) -> str:
    """A pandas offset as the analyst reads it: "1D" -> "1 jour", "7D" -> "7 jours", "15min" -> "15 minutes"
    (an offset it does not know is returned as is)."""
    found = re.fullmatch(r"(\d*)\s*(D|W|h|H|min|T|s|S)", offset.strip())
    if not found:
        return offset
    n = int(found.group(1) or 1)
    unit = {"H": "h", "T": "min", "S": "s"}.get(found.group(2), found.group(2))
    return f"{n} {_UNITS_FR[unit][n > 1]}"
