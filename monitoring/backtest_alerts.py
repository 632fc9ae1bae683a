"""Alerts of the back-test: a grade whose PD is underestimated (Jeffreys), an AUC that fell since development."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from monitoring.alerts import CRITICAL, WARNING, Alert, alert
from monitoring.reader import LogData
from monitoring.style import fr, p_clause
from scoring.master_scale import LETTERS, grade_index

GRADE_BACKTEST = "grade_backtest"
AUC_FALL = "auc_fall"


def backtest_alerts(data: LogData, tested: dict[str, Any] | None, joined: pd.DataFrame) -> list[Alert]:
    """One alert per failed grade (its letter in `grade`), one when the AUC fell significantly; where: the joined
    calls of that grade (all joined calls for the AUC), first to last."""
    if not tested or joined.empty:
        return []
    rows = joined["row"].to_numpy()
    out = []
    graded = np.array([LETTERS[i] for i in grade_index(tested["edges"], joined["score"].to_numpy(dtype=float))])
    for g in tested["grades"]:
        if not g["failed"]:
            continue
        mine = np.sort(rows[graded == g["grade"]])
        out.append(alert(GRADE_BACKTEST, data, int(mine[0]), int(mine[-1]), g["default_rate"], round(g["pd"], 6),
                         f"grade {g['grade']}: {g['defaults']} defaults among {g['n']} ({g['default_rate']:.1%}) "
                         f"against a PD of {g['pd']:.1%} (Jeffreys p = {g['jeffreys_p']:.2g})",
                         CRITICAL, grade=g["grade"], jeffreys_p=g["jeffreys_p"],
                         message_fr=f"classe {g['grade']} : {g['defaults']} défauts sur {g['n']} "
                         f"({fr(g['default_rate'], '.1%')}) pour une PD de {fr(g['pd'], '.1%')} "
                         f"({p_clause(g['jeffreys_p'], 'Jeffreys p')})"))
    change = tested.get("auc_change")
    if change and change["fell"]:
        ordered = np.sort(rows)
        out.append(alert(AUC_FALL, data, int(ordered[0]), int(ordered[-1]), change["auc_now"],
                         round(change["auc_development"], 6),
                         f"AUC {change['auc_now']:.3f} on the outcomes against {change['auc_development']:.3f} at "
                         f"development (z = {change['z']:.2f}, one-sided p = {change['p_value_fell']:.2g})",
                         WARNING, p_value=change["p_value_fell"],
                         message_fr=f"AUC {fr(change['auc_now'])} sur les défauts observés contre "
                         f"{fr(change['auc_development'])} au développement (z = {fr(change['z'], '.2f')}, "
                         f"{p_clause(change['p_value_fell'], 'p unilatéral')})"))
    return out

