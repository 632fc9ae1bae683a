"""The self-contained HTML model report (charts embedded as base64 PNG; no external resource).

Built from `metrics.json` and the threshold document only, so it says exactly what the artifacts
say. French, like the app that shows it.
"""

from __future__ import annotations

import base64
import html
import re
from datetime import UTC, datetime
from typing import Any

from scoring.report_validation import validation_html

WARNING_TITLES = {
    "few_defaults": "Trop peu de défauts pour des chiffres fiables",
    "no_gain_over_baseline": "Pas de gain démontré sur la référence EXT_SOURCE",
    "early_stop": "Arrêt précoce après quelques arbres",
    "degenerate_grey_zone": "Zone grise dégénérée",
    "cost_near_accept_all": "Coût à peine inférieur à « tout accepter »",
}

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:2px solid #3b6ea5;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#eef3f9}td:first-child,th:first-child{text-align:left}
.warn{background:#fff4e5;border-left:5px solid #e08a00;padding:.5em 1em;margin:.5em 0}
.ok{background:#eaf7ea;border-left:5px solid #3a9a3a;padding:.5em 1em}
.bad{color:#b00020;font-weight:600}.good{color:#207020;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:1em}.charts img{max-width:520px;border:1px solid #ddd}
.small{color:#666;font-size:.9em}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _dec(value: float, digits: int = 3) -> str:
    """A decimal in French: `0,847`, `−0,012`."""
    return f"{value:.{digits}f}".replace(".", ",").replace("-", "−")


def _f(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return _dec(value, digits)
    return _e(value)


def _ci(interval: dict[str, float] | None, digits: int = 3) -> str:
    if not interval:
        return ""
    return f" [{_dec(interval['low'], digits)} ; {_dec(interval['high'], digits)}]"


_METHOD = re.compile(r"stratified bootstrap of the holdout, (\d+) replicates, (\d+)% percentile interval")


def _method_fr(method: str) -> str:
    """The interval method of metrics.json (written in English) as the report says it."""
    found = _METHOD.fullmatch(method or "")
    if not found:
        return method or ""
    return (f"Intervalles : bootstrap stratifié du holdout ({found.group(1)} tirages), intervalle des percentiles "
            f"à {found.group(2)} %.")


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _source(m: dict[str, Any]) -> str:
    src = m.get("data_source", {})
    kind = {"kaggle": "fichiers Kaggle (données réelles)", "synthetic": "jumeau synthétique"}.get(src.get("kind"), "?")
    where = src.get("data_dir") or f"{src.get('applicants')} demandeurs, graine {src.get('seed')}"
    rows = m["rows"]
    tables = _table(["Table", "Lignes"], [[_e(k), f"{v:,}".replace(",", " ")]
                                         for k, v in src.get("row_counts", {}).items()])
    return (f"<p>Source : <b>{kind}</b> ({_e(where)}). Apprentissage : {rows['train']} demandeurs, holdout : "
            f"{rows['holdout']} ({rows.get('holdout_defaults', '?')} défauts) ; {rows.get('defaults', '?')} défauts "
            f"en tout (taux {_dec(rows['positives_rate'])}) ; {m['n_features']} variables"
            + (f", sans {_e(', '.join(m['excluded_features']))}" if m.get("excluded_features") else "")
            + f".</p>{tables}")


def _warnings(m: dict[str, Any]) -> str:
    if not m.get("warnings"):
        return '<div class="ok">Aucun avertissement : données assez nombreuses, gain sur la référence démontré, ' \
               "arbres en nombre suffisant, zone grise non dégénérée.</div>"
    return "".join(f'<div class="warn"><b>{_e(WARNING_TITLES.get(w["code"], w["code"]))}</b><br>'
                   f'<span class="small">{_e(w.get("message_fr") or w["message"])}</span></div>' for w in m["warnings"])


def _metrics(m: dict[str, Any], threshold: dict[str, Any]) -> str:
    iv = m.get("intervals", {})
    gain = m.get("cv_vs_baseline") or {}
    hold_gain = iv.get("auc_minus_baseline") or {}
    zone = threshold["grey_zone"]
    rows = [
        ["AUC holdout (IC 95 %)", _f(m["auc"]) + _ci(iv.get("auc"))],
        ["AUC validation croisée (moyenne des plis, IC)", _f(m["cv_auc"]) + _ci(m.get("cv_auc_interval"))
         + f" ; écart-type entre plis {_f(m.get('cv_fold_auc_sd'))} ({len(m['cv_fold_auc'])} plis)"],
        ["Référence : régression logistique EXT_SOURCE_1/2/3 (CV ; holdout)",
         f"{_f(m.get('baseline_ext_source_logreg_cv_auc'))} ; {_f(m.get('baseline_ext_source_logreg_auc'))}"],
        ["Gain d'AUC sur la référence, plis appariés (IC corrigé)",
         (_f(gain.get("mean"), 3) + _ci(gain)) if gain else "—"],
        ["Gain d'AUC sur la référence, holdout apparié (IC bootstrap)",
         (_f(hold_gain.get("value"), 3) + _ci(hold_gain)) if hold_gain else "—"],
        ["Seuil (minimum du coût out-of-fold) ; zone grise", f"{_dec(threshold['threshold'])} ; "
         f"{_dec(zone['low'])} – {_dec(zone['high'])}"],
        [f"Coût métier par dossier ({m['cost_fn']:g}·FN + {m['cost_fp']:g}·FP), holdout (IC)",
         _f(m["business_cost_per_applicant"]) + _ci(iv.get("business_cost_per_applicant"))],
        ["Coût out-of-fold ; « tout accepter »", f"{_f(m['oof_business_cost_per_applicant'])} ; "
         f"{_f(m.get('oof_cost_accept_all_per_applicant'))}"],
        ["Rappel des défauts au seuil (IC) ; précision", _f(m["recall"]) + _ci(iv.get("recall"))
         + f" ; {_f(m['precision'])}"],
        ["Calibration : Brier ; ECE", f"{_f(m['calibration']['brier'], 4)} ; {_f(m['calibration']['ece'], 4)}"],
    ]
    if "oracle_auc" in m:
        rows.append(["AUC de l'oracle (probabilités vraies du jumeau) ; part atteinte",
                     f"{_f(m['oracle_auc'])} ; {_f(m['auc_to_oracle'])}"])
    rows.append(["Arbres (profondeur max.) ; hyperparamètres",
                 f"{m['n_rounds']} ({m['hyperparameters'].get('max_depth')}) ; "
                 + _e(", ".join(f"{k}={v}" for k, v in m["hyperparameters"].items() if k != "n_rounds"))])
    return _table(["Mesure", "Valeur"], rows) + f'<p class="small">{_e(_method_fr(iv.get("method", "")))}</p>'


def _tuning(m: dict[str, Any]) -> str:
    tuning = m.get("tuning")
    if not tuning or len(tuning["candidates"]) < 2:
        return ""
    rows = []
    for i, c in enumerate(tuning["candidates"]):
        diff = c.get("diff_vs_reference")
        params = ", ".join(f"{k}={c['params'][k]}" for k in ("learning_rate", "max_depth", "min_child_weight",
                                                              "reg_lambda", "colsample_bytree") if k in c["params"])
        stopped = c.get("stopped_by_racing")
        folds = str(c.get("folds", tuning["folds"])) + (
            f" (arrêté : probabilité de finir devant {_f(100 * stopped['catch_up_probability'], 2)} %)"
            if stopped else "")
        rows.append([("▶ " if i == tuning["selected"] else "") + _e(params), c["n_rounds"], folds,
                     _f(c["mean_fold_auc"], 4) + f" ± {_f(c['sd_fold_auc'], 4)}",
                     (_f(diff["mean"], 4) + _ci(diff, 4)) if diff else "référence"])
    racing = tuning.get("racing")
    raced = (f" Course : un candidat s'arrête quand la probabilité que les plis restants le placent devant le meneur "
             f"passe sous {_f(100 * racing['alpha'], 1)} % divisé par le nombre de décisions "
             f"(au moins {racing['min_folds']} plis vus)." if racing else "")
    return ("<h3>Choix des hyperparamètres</h3>"
            f"<p>{tuning['folds']} plis ({tuning['n_splits']} plis × {_times(tuning['folds'] // tuning['n_splits'])}"
            "), les mêmes pour chaque candidat ; différences appariées avec la référence sur les plis communs."
            f"{raced}</p>"
            + _table(["Candidat", "Arbres", "Plis", "AUC moyenne des plis", "Écart apparié (IC)"], rows))


def _times(n: int) -> str:
    return f"{n} répétition" if n == 1 else f"{n} répétitions"


def _pct(value: Any) -> str:
    return "—" if value is None else f"{_dec(100 * value, 1)}\u202f%"


def _points(value: Any) -> str:
    """A gap between two rates, in percentage points."""
    return "—" if value is None else f"{_dec(100 * value, 1)}\u202fpt"


def _verdict_fr(doc: dict[str, Any], rules: dict[str, Any]) -> str:
    """The fairness verdict in French, from the figures (metrics.json keeps an English sentence)."""
    if doc.get("four_fifths_ok") is None:
        return f"non jugé : moins de deux groupes d'au moins {rules.get('min_group', '?')} personnes"
    ratio, eod = doc["approval_ratio"], doc["equalised_odds_difference"]
    return (f"règle des quatre cinquièmes {'respectée' if doc['four_fifths_ok'] else 'NON respectée'} (rapport des "
            f"taux d'accord {_f(ratio, 2)}, règle ≥ {_f(rules.get('four_fifths'), 2)}) ; égalité des chances "
            f"{'respectée' if doc['equalised_odds_ok'] else 'NON respectée'} (plus grand écart de TPR/FPR "
            f"{_f(eod)}, règle ≤ {_f(rules.get('equalised_odds_limit'), 2)})")


def _fair_dimension(title: str, doc: dict[str, Any], rules: dict[str, Any]) -> str:
    rows = [[_e(g) + ("" if g in doc["judged_groups"] else " <span class='small'>(non jugé)</span>"), r["n"],
             _pct(r["approval_rate"]), _pct(r["fnr"]), _pct(r["fpr"]), _f(r["auc"])]
            for g, r in doc["groups"].items()]
    gaps = doc["gaps"]
    rows.append(["<b>Écart max.</b>", "", _points(gaps["approval_rate"]), _points(gaps["fnr"]),
                 _points(gaps["fpr"]), _f(gaps["auc"])])
    ok = doc["four_fifths_ok"] and doc["equalised_odds_ok"]
    verdict = f'<p class="{"good" if ok else "bad"}">Verdict : {_e(_verdict_fr(doc, rules))}</p>'
    return (f"<h3>{_e(title)}</h3>"
            + _table(["Groupe", "n", "Taux d'accord", "Défauts accordés (FNR)", "Bons clients refusés (FPR)", "AUC"],
                     rows)
            + f"<p>Rapport des taux d'accord (min/max) : <b>{_f(doc['approval_ratio'], 2)}</b> ; "
              f"différence d'égalité des chances (equalised odds) : <b>{_f(doc['equalised_odds_difference'])}</b>"
              "</p>" + verdict)


def _not_computed(m: dict[str, Any], key: str) -> str:
    """The French note for a figure `metrics.json` names under `not_computed` (its reason is in English there)."""
    if key not in m.get("not_computed", {}):
        return ""
    why = (" : l'entraînement sur le cluster (Dask) ne conserve pas les variables du holdout"
           if m.get("engine", {}).get("kind") == "dask" else "")
    return f'<p class="bad">Non calculé pour ce modèle{why}.</p>'


def _fairness(m: dict[str, Any]) -> str:
    if "fairness" not in m:
        return _not_computed(m, "fairness")
    fair = m.get("fairness", {})
    rules = fair.get("rules", {})
    parts = [f"<p>Sur le holdout, au seuil. Règles : quatre cinquièmes sur les taux d'accord "
             f"(≥ {_f(rules.get('four_fifths'), 2)}), plus grand écart de TPR/FPR (égalité des chances, "
             f"« equalised odds ») ≤ {_f(rules.get('equalised_odds_limit'), 2)} ; "
             f"groupes de moins de {rules.get('min_group')} personnes montrés mais non jugés. Calculé avec "
             "fairlearn (MetricFrame).</p>"]
    if "gender" in fair:
        parts.append(_fair_dimension("Par genre (CODE_GENDER)", fair["gender"], rules))
    if "age" in fair:
        parts.append(_fair_dimension("Par tranche d'âge", fair["age"], rules))
    switch = fair.get("gender_switch")
    if switch:
        parts.append(
            "<h3>Seul le genre change</h3>"
            f"<p>Pour les mêmes {switch['applicants']} demandeurs, en inversant seulement F ↔ M : variation moyenne "
            f"du score F→M {_f(switch['mean_change_f_to_m'], 4)}, M→F {_f(switch['mean_change_m_to_f'], 4)} ; "
            f"variation absolue moyenne {_f(switch['mean_abs_change'], 4)}, max. {_f(switch['max_abs_change'], 4)} ; "
            f"<b>{switch['decisions_flipped']}</b> décisions changent ({_pct(switch['decisions_flipped_share'])}).</p>")
    variant = m.get("variant_without_gender")
    if variant:
        main = {"auc": m["auc"], "auc_interval": m["intervals"]["auc"],
                "business_cost_per_applicant": m["business_cost_per_applicant"], "threshold": m["threshold"],
                "gaps": {k: fair[k]["gaps"] for k in ("gender", "age") if k in fair},
                "approval_ratio": {k: fair[k]["approval_ratio"] for k in ("gender", "age") if k in fair}}
        rows = []
        for name, doc in (("Modèle par défaut", main),
                          ("Sans " + ", ".join(variant["excluded_features"]), variant)):
            gender, age = doc["gaps"].get("gender", {}), doc["gaps"].get("age", {})
            rows.append([_e(name), _f(doc["auc"]) + _ci(doc["auc_interval"]), _f(doc["business_cost_per_applicant"]),
                         _f(doc["threshold"]), _points(gender.get("approval_rate")), _points(gender.get("fnr")),
                         _points(gender.get("fpr")), _f(doc["approval_ratio"].get("gender"), 2),
                         _points(age.get("approval_rate"))])
        parts.append("<h3>Avec et sans les variables de genre</h3><p>Mêmes hyperparamètres, même holdout.</p>"
                     + _table(["Variante", "AUC holdout (IC)", "Coût / dossier", "Seuil", "Écart accord (genre)",
                               "Écart FNR (genre)", "Écart FPR (genre)", "Rapport accords (genre)",
                               "Écart accord (âge)"], rows))
    return "".join(parts)


def _importance(m: dict[str, Any], images: dict[str, bytes]) -> str:
    if "importance" not in m:
        return _not_computed(m, "importance")
    rows = [[_e(r["label"]), f"<code>{_e(r['feature'])}</code>", _f(r["mean_abs_shap"], 4)]
            for r in m.get("importance", [])]
    return (_img(images["importance"], "importance") if "importance" in images else "") + _table(
        ["Variable", "Nom", "Moyenne |SHAP|"], rows)


def build_report(metrics: dict[str, Any], threshold: dict[str, Any], images: dict[str, bytes],
                 model_version: str) -> str:
    """The whole report as one HTML string."""
    charts = "".join(_img(images[k], k) for k in ("roc", "pr", "cost", "calibration", "confusion") if k in images)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Rapport du modèle {_e(model_version)}</title>
<style>{STYLE}</style></head><body>
<h1>Rapport du modèle de scoring — version <code>{_e(model_version)}</code></h1>
<p class="small">Écrit par <code>train.py</code> le {when}, graine {_e(metrics.get('seed'))}.</p>
<h2>Données</h2>{_source(metrics)}
<h2>Avertissements</h2>{_warnings(metrics)}
<h2>Performances et incertitude</h2>{_metrics(metrics, threshold)}{_tuning(metrics)}
<h2>Courbes</h2><div class="charts">{charts}</div>
<h2>Validation du risque de crédit</h2>{validation_html(metrics, threshold) or "<p>—</p>"}
<h2>Importance globale (SHAP)</h2>{_importance(metrics, images)}
<h2>Équité</h2>{_fairness(metrics)}
</body></html>
"""
