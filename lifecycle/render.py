"""A promotion decision as text: the two models side by side, the checks, the outcome."""

from __future__ import annotations

from typing import Any


def _f(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _interval(doc: dict[str, Any], digits: int = 4) -> str:
    return f"{_f(doc['value'], digits)} [{_f(doc['low'], digits)}, {_f(doc['high'], digits)}]"


def render(decision: dict[str, Any]) -> str:
    cand, champ = decision["candidate"], decision["champion"]
    lines = [f"candidate {cand.get('model_version')} (registry version {cand.get('registry_version') or '-'}, "
             f"{cand.get('source')})",
             f"champion  {champ.get('model_version')} (registry version {champ.get('registry_version') or '-'}, "
             f"{champ.get('source')})"]
    figures = decision.get("figures") or {}
    if figures:
        h = figures["holdout"]
        lines.append(f"holdout: {h['applicants']} applicants, {h['defaults']} defaults ({h.get('kind')}"
                     f"{', seed ' + str(h['seed']) if 'seed' in h else ''})")
        rows = [("figure", "champion", "candidate", "difference (95 % interval)")]
        paired = figures.get("paired")
        if paired:
            for key, name in (("auc", "AUC"), ("cost_per_applicant", "cost per applicant")):
                doc = paired[key]
                rows.append((name, _interval(doc["champion"]), _interval(doc["candidate"]),
                             _interval(doc["difference"])))
        for key in ("brier", "ece"):
            cal = figures["calibration"]
            rows.append((f"calibration {key}", _f(cal.get("champion", {}).get(key)), _f(cal["candidate"][key]), ""))
        for dim, doc in figures["fairness"]["candidate"].items():
            before = figures["fairness"].get("champion", {}).get(dim, {})
            for key in ("approval_ratio", "equalised_odds_difference"):
                rows.append((f"fairness {dim} {key}", _f(before.get(key), 3), _f(doc.get(key), 3), ""))
        par = figures["parity"]
        rows.append(("parity max gap (ONNX, row, TreeSHAP)", _f(par.get("champion", {}).get("max_gap"), 9),
                     _f(par["candidate"]["max_gap"], 9), ""))
        speed = figures["speed"]
        rows.append(("one row (µs)", _f(speed.get("champion_row_us"), 1), _f(speed["candidate_row_us"], 1),
                     f"x{speed['slowdown']:.2f}" if "slowdown" in speed else ""))
        if "flips" in figures:
            fl = figures["flips"]
            rows.append(("decisions flipped", "", "", f"{fl['total']} ({fl['share']:.2%}): {fl['accepted_to_refused']} "
                         f"accepted->refused, {fl['refused_to_accepted']} refused->accepted"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    for check in decision.get("checks", []):
        lines.append(f"  [{'ok' if check['passed'] else 'FAILED'}] {check['check']}: {check['figure']} = "
                     f"{_f(check['value'], 6)} (limit {_f(check['limit'], 6)})")
    outcome = decision["outcome"]
    if outcome == "refused":
        lines.append("REFUSED: " + "; ".join(decision["failed"]))
    else:
        lines.append(f"{outcome.upper()}" + (f" despite: {'; '.join(decision['failed'])}" if decision["failed"] else "")
                     + (f" (reason: {decision['reason']})" if decision.get("reason") else ""))
    lines.append(f"decision written to {decision['decision_dir']}/metrics.json")
    return "\n".join(lines) + "\n"
