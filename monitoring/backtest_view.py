"""The stability and back-testing section in French, as tables: the HTML report and the dashboard read these."""

from __future__ import annotations

import html
from typing import Any

from monitoring.backtest import BANDS_FR
from monitoring.labels_fr import moment_fr, window_fr
from monitoring.style import count_fr, fr, p_clause, p_fr
from scoring.explain_format import fr_number


def _n(value: Any, digits: int = 3) -> str:
    return fr(value, f".{digits}f")


def _pct(value: Any) -> str:
    return fr(value, ".1%")


def _start(iso: str) -> str:
    """A window's start, day first: "26/11/2026 00:00"."""
    return moment_fr(iso)[:16]


def _count(n: int) -> str:
    return fr(n, ",")


def cell(value: Any) -> str:
    """A figure as the section writes it (French decimal comma, — when missing)."""
    return _n(value)


def _band(value: str | None) -> str:
    return "—" if value is None else BANDS_FR[value]


def movers_sentence(doc: dict[str, Any]) -> str:
    """"Plus forts mouvements : Score externe 2 (0,412, instable), …"."""
    movers = doc.get("top_movers") or []
    if doc.get("judged") is False:
        return f"Non calculé : {count_fr(doc['n'], 'appel')}, il en faut au moins {fr_number(doc['min_window'], 0)}."
    if not movers:
        return "Aucune caractéristique mesurée."
    return "Plus forts mouvements : " + ", ".join(f"{m['label']} ({_n(m['csi'])}, {_band(m['band'])})"
                                                  for m in movers) + "."


def csi_rows(doc: dict[str, Any]) -> list[list[str]]:
    """Characteristic (French), model name, CSI, band; highest CSI first."""
    items = sorted(doc["csi"].items(), key=lambda kv: -(kv[1]["csi"] or 0))
    return [[v["label"], name, _n(v["csi"]), _band(v["band"])] for name, v in items]


CSI_HEADER = ["Caractéristique", "Nom dans le modèle", "CSI", "Bande"]
WINDOW_HEADER = ["Début de la fenêtre (UTC)", "Appels", "PSI du score", "Bande", "PSI des classes",
                 "Plus forts mouvements"]


def window_rows(stability: dict[str, Any]) -> list[list[str]]:
    rows = []
    for w in stability["windows"]:
        if "csi" not in w:
            rows.append([_start(w["start"]), _count(w["n"]), "—", "trop peu d'appels", "—", ""])
            continue
        movers = ", ".join(f"{m['label']} {_n(m['csi'])}" for m in w["top_movers"])
        rows.append([_start(w["start"]), _count(w["n"]), _n(w["score_psi"]), _band(w["score_band"]),
                     _n(w.get("grade_psi")), movers])
    return rows


def grade_rows(stability: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The grade shares per window, the development sample's first."""
    ref = stability.get("reference_grades")
    if not ref:
        return [], []
    header = ["Fenêtre", *ref]
    rows = [["développement", *[_pct(v) for v in ref.values()]]]
    rows += [[moment_fr(w["start"])[:10], *[_pct(w["grades"][g]) for g in ref]]
             for w in stability["windows"] if "grades" in w]
    return header, rows


BACKTEST_HEADER = ["Classe", "Issues", "Défauts", "Taux observé", "PD de la classe", "p Jeffreys", "p binomial",
                   "Verdict"]


def backtest_rows(tested: dict[str, Any]) -> list[list[str]]:
    rows = []
    for g in tested["grades"]:
        verdict = ("non jugée (trop peu d'issues)" if not g["judged"] else
                   "PD sous-estimée" if g["failed"] else "conforme")
        rows.append([g["grade"], str(g["n"]), str(g["defaults"]), _pct(g["default_rate"]), _pct(g["pd"]),
                     p_fr(g["jeffreys_p"]), p_fr(g["binomial_p"]), verdict])
    return rows


def auc_sentence(tested: dict[str, Any]) -> str:
    change = tested.get("auc_change")
    if not change:
        return "AUC au développement inconnue (metrics.json) : pas de test de son évolution."
    verdict = "baisse significative" if change["fell"] else "pas de baisse significative"
    return (f"AUC sur les issues : {_n(change['auc_now'])} contre {_n(change['auc_development'])} au développement "
            f"(écart {_n(change['difference'])}, z = {_n(change['z'], 2)}, "
            f"{p_clause(change['p_value_fell'], 'p unilatéral')}, test de Hanley–McNeil) : {verdict}.")


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def backtest_html(report: dict[str, Any]) -> str:
    """The French section of the HTML report (empty when the report has no stability part)."""
    stable, tested = report.get("stability"), report.get("backtest")
    if not stable:
        return ""
    overall = stable["overall"]
    bands = stable["bands"]
    parts = [
        f'<h2>Stabilité du score et des caractéristiques</h2><p>Contre l\'échantillon de '
        f"développement ; bandes usuelles : stable sous {_n(bands['watch'], 2)}, à surveiller jusqu'à "
        f"{_n(bands['unstable'], 2)}, instable au-delà. Sur tout le journal : PSI du score "
        f"{_n(overall['score_psi'])} ({_band(overall['score_band'])}). {html.escape(movers_sentence(overall))}</p>",
        _table(CSI_HEADER, csi_rows(overall)),
        f'<h3>Par fenêtre de {html.escape(window_fr(stable["window"]))}</h3>',
        _table(WINDOW_HEADER, window_rows(stable)),
    ]
    header, rows = grade_rows(stable)
    if rows:
        parts += ['<h3>Répartition des classes de risque par fenêtre</h3>', _table(header, rows)]
    if tested:
        parts += ['<h2>Back-testing par classe</h2>',
                  f'<p>Taux de défaut observé contre la PD de la classe : test de Jeffreys unilatéral '
                  f"(alerte sous p = {fr(tested['alpha_per_grade'], '.2g')}, soit {fr(tested['alpha'], 'g')} pour "
                  "l'ensemble des classes, correction de Bonferroni) et test binomial exact.</p>",
                  _table(BACKTEST_HEADER, backtest_rows(tested)),
                  f'<p>{html.escape(auc_sentence(tested))}</p>']
    return "".join(parts)
