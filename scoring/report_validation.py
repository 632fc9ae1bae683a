"""The report's validation section, in French, for a risk analyst: master scale, discrimination, rank
ordering, calibration per grade, concentration and the benchmark scorecard. Built from `metrics.json`
(`validation`) and `threshold.json` (`master_scale`) only; the curves are inline SVG."""

from __future__ import annotations

import html
from typing import Any

ALPHA = 0.05


def _e(value: Any) -> str:
    return html.escape(str(value))


def _n(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}".replace(".", ",")
    return _e(value)


def _p(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f} %".replace(".", ",")


def _pv(value: float | None) -> str:
    if value is None:
        return "—"
    return "< 0,0001" if value < 1e-4 else _n(value, 4)


def _ci(doc: dict[str, float] | None) -> str:
    return "" if not doc else f" [{_n(doc['low'])} ; {_n(doc['high'])}]"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _svg(title: str, xs: list[float], ys: list[float], x_label: str, y_label: str, *,
         ideal: list[tuple[float, float]] | None = None) -> str:
    """A 320×320 chart of one curve over [0, 1]², the diagonal (chance) dashed, `ideal` dotted."""
    size, pad = 300, 40

    def pts(points: list[tuple[float, float]]) -> str:
        return " ".join(f"{pad + x * size:.1f},{pad + size - y * size:.1f}" for x, y in points)

    extra = f'<polyline points="{pts(ideal)}" fill="none" stroke="#888" stroke-dasharray="2,3"/>' if ideal else ""
    return (f'<svg role="img" aria-label="{_e(title)}" width="{size + 2 * pad}" height="{size + 2 * pad}" '
            f'xmlns="http://www.w3.org/2000/svg" style="border:1px solid #ddd;background:#fff">'
            f'<text x="{pad}" y="22" font-size="14" font-weight="600">{_e(title)}</text>'
            f'<rect x="{pad}" y="{pad}" width="{size}" height="{size}" fill="none" stroke="#999"/>'
            f'<polyline points="{pts([(0, 0), (1, 1)])}" fill="none" stroke="#bbb" stroke-dasharray="5,4"/>{extra}'
            f'<polyline points="{pts(list(zip(xs, ys, strict=True)))}" fill="none" stroke="#3b6ea5" '
            f'stroke-width="2.5"/>'
            f'<text x="{pad + size / 2}" y="{size + pad + 28}" font-size="12" text-anchor="middle">{_e(x_label)}</text>'
            f'<text x="12" y="{pad + size / 2}" font-size="12" text-anchor="middle" '
            f'transform="rotate(-90 12 {pad + size / 2})">{_e(y_label)}</text></svg>')


def _scale(scale: dict[str, Any]) -> str:
    rows = [[f"<b>{_e(g['grade'])}</b>", f"{_p(g['low'])} – {_p(g['high'])}", _p(g["pd"]), _p(g["default_rate"]),
             g["n"], _p(g["share"], 1)] for g in scale["grades"]]
    mono = "croissant strictement d'une classe à l'autre" if scale["monotone"] else "<b class='bad'>non monotone</b>"
    return (f"<p>{scale['n_grades']} classes, A = risque le plus faible, choisies sur les scores hors-pli "
            f"des demandeurs d'apprentissage : taux de défaut observé {mono}, aucune classe sous "
            f"{_p(scale['min_share'], 0)} des demandeurs. La PD d'une classe est la moyenne des scores hors-pli "
            "qui y tombent ; c'est elle que les tests de calibration confrontent aux défauts observés.</p>"
            + _table(["Classe", "Intervalle de PD", "PD de la classe", "Taux de défaut observé (apprentissage)",
                      "Demandeurs", "Part"], rows))


def _gains(rows: list[dict[str, Any]], ordering: dict[str, Any], what: str) -> str:
    body = [[_e(r["band"]), r["n"], r["defaults"], _p(r["default_rate"]), _p(r["mean_pd"]), _n(r["lift"], 2),
             _p(r["cum_defaults_share"], 1)] for r in rows]
    if ordering["monotone"]:
        verdict = f'<p class="good">Ordre des risques respecté : le taux de défaut croît à chaque {what}.</p>'
    else:
        pairs = ", ".join(f"{a} → {b}" for a, b in ordering["inversions"])
        verdict = f'<p class="bad">Ordre des risques rompu (le taux de défaut ne croît pas) entre : {_e(pairs)}.</p>'
    return _table(["Tranche", "Demandeurs", "Défauts", "Taux de défaut", "PD moyenne", "Lift",
                   "Part cumulée des défauts (des pires vers les meilleurs)"], body) + verdict


def _calibration(v: dict[str, Any]) -> str:
    rows = []
    for r in v["calibration_grades"]:
        status = "—" if r["n"] == 0 else ('<span class="good">conforme</span>' if r["passed"]
                                         else '<span class="bad">PD sous-estimée</span>')
        rows.append([f"<b>{_e(r['grade'])}</b>", r["n"], r["defaults"], _p(r["pd"]), _p(r["mean_pd"]),
                     _p(r["default_rate"]), _pv(r["jeffreys_p"]), _pv(r["binomial_p"]), status])
    hl, sp = v["hosmer_lemeshow"], v["spiegelhalter"]
    return (f"<p>Test de Jeffreys unilatéral (H0 : la PD de la classe n'est pas sous-estimée ; p = loi Bêta"
            f"(D + ½, N − D + ½) évaluée en la PD, instructions de validation IRB de la BCE, 2019) et test binomial "
            f"exact unilatéral ; une classe échoue quand p &lt; {_n(ALPHA, 2)}.</p>"
            + _table(["Classe", "Demandeurs", "Défauts", "PD de la classe", "PD moyenne", "Taux observé",
                      "p Jeffreys", "p binomial", "Verdict"], rows)
            + f"<p>Globalement : Hosmer–Lemeshow χ² = {_n(hl['statistic'], 2)} ({hl['df']} ddl), "
              f"p = {_pv(hl['p_value'])} ; "
              f"Spiegelhalter z = {_n(sp['z'], 2)}, p = {_pv(sp['p_value'])}.</p>")


def _benchmark(b: dict[str, Any]) -> str:
    sc, xg = b["scorecard"], b["xgboost"]
    diff = b["cv_xgboost_minus_scorecard"]

    def row(name: str, doc: dict[str, Any]) -> list[Any]:
        return [name, _n(doc["auc"]), _n(doc["gini"]), _n(doc["ks"]), _n(doc["threshold"]),
                _n(doc["business_cost_per_applicant"]), _n(doc["brier"], 4),
                _pv(doc["hosmer_lemeshow"]["p_value"]), _pv(doc["spiegelhalter"]["p_value"])]

    points = [[_e(p["characteristic"]), _e(p["bin"]), _n(p["points"], 1)] for p in b["points"]]
    scale = b["scaling"]
    return (f"<p>Grille de score (régression logistique sur les poids de l'évidence, <code>optbinning</code> "
            f"BinningProcess + Scorecard) apprise sur les mêmes demandeurs et validée sur les mêmes plis que "
            f"XGBoost ; {len(b['characteristics'])} caractéristiques retenues (valeur d'information ≥ 0,02) parmi "
            f"les {len(b['candidates'])} de plus fort gain dans XGBoost. <b>{scale['pdo']} points doublent la cote "
            f"bon/mauvais</b> ; {scale['base_points']} points valent une cote de {scale['base_odds']} contre 1. "
            "XGBoost reste le modèle servi.</p>"
            + _table(["Modèle (holdout)", "AUC", "Gini", "KS", "Seuil", "Coût / dossier", "Brier", "p HL",
                      "p Spiegelhalter"], [row("XGBoost (servi)", xg), row("Grille de score", sc)])
            + f"<p>Validation croisée, plis appariés : AUC XGBoost − grille = {_n(diff['mean'], 4)}"
              f"{_ci(diff)} ({diff['folds']} plis, IC corrigé de Nadeau–Bengio).</p>"
            + "<details><summary>Table des points de la grille</summary>"
            + _table(["Caractéristique", "Tranche", "Points"], points) + "</details>")


def validation_html(metrics: dict[str, Any], threshold: dict[str, Any]) -> str:
    """The section's HTML (empty for a model trained before it existed)."""
    v, scale = metrics.get("validation"), threshold.get("master_scale")
    if not v or not scale:
        return ""
    h = v["herfindahl"] or {}
    parts = [
        "<h3>Échelle de notation (master scale)</h3>", _scale(scale),
        "<h3>Pouvoir discriminant (holdout)</h3>",
        _table(["Mesure", "Valeur (IC 95 %)"], [
            ["Gini (= 2·AUC − 1)", _n(v["gini"]) + _ci(v["gini_interval"])],
            ["Kolmogorov–Smirnov", _n(v["ks"]) + _ci(v["ks_interval"]) + f" (atteint au score {_p(v['ks_score'])})"],
            ["AUC", _n(v["auc"])]]),
        "<p class=\"small\">Intervalles : bootstrap stratifié du holdout (défauts et non-défauts rééchantillonnés "
        "séparément), intervalle percentile à 95 %.</p><div class=\"charts\">",
        _svg("Courbe ROC", v["roc"]["fpr"], v["roc"]["tpr"], "taux de faux positifs", "taux de vrais positifs"),
        _svg("Courbe CAP", v["cap"]["population"], v["cap"]["captured"], "part des demandeurs (les plus risqués "
             "d'abord)", "part des défauts capturés"),
        "</div><h3>Gains et lift par décile de score</h3>",
        _gains(v["gains_deciles"], v["rank_ordering_deciles"], "décile"),
        "<h3>Gains et lift par classe</h3>", _gains(v["gains_grades"], v["rank_ordering_grades"], "classe"),
        "<h3>Calibration par classe (back-testing)</h3>", _calibration(v),
        "<h3>Concentration des classes</h3>",
        f"<p>Indice de Herfindahl de la répartition des classes sur le holdout : {_n(h.get('hhi'))} "
        f"(normalisé : {_n(h.get('normalised'))} ; 0 = classes également remplies, 1 = une seule classe) ; "
        f"sur l'apprentissage : {_n(v['herfindahl_training']['hhi'])}.</p>",
    ]
    if "benchmark" in v:
        parts += ["<h3>Modèle de référence : grille de score</h3>", _benchmark(v["benchmark"])]
    return "".join(parts)
