"""What the features are made of, and what each part means: the declarative side of `scoring.features`.

Every aggregate of a child table is one `AggregateSpec` (prefix, table, ``{column: aggregations}``,
one-hot columns, row count); `scoring.features` builds the columns from these specs and
`scoring.feature_registry` derives each feature's French label, unit, domain rule and source table
from the same specs and from the meaning of its base column (`Meaning`, written once per column
below). A new aggregation of a known column needs no other edit; a new column without a meaning is
reported by the registry (and fails `tests/scoring/test_feature_registry.py`) before any retraining.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from scoring.schema import (
    BUREAU,
    BUREAU_BALANCE,
    CREDIT_CARD,
    INSTALMENTS,
    POS_CASH,
    PREVIOUS_APPLICATION,
    DomainRule,
)
from scoring.tables import BUILDING_COLUMNS, CATEGORIES


class Unit(StrEnum):
    """How a value reads to an adviser (`scoring.explain_format.format_value`)."""

    NUMBER = "number"  # no unit: counts, scores, ratings, 0/1 flags
    MONEY = "money"  # euros
    PERCENT = "percent"  # a share or a ratio, shown as %
    DAY_COUNT = "day_count"  # a number of days late or early
    DAYS = "days"  # days relative to the application (negative: before)
    AGE = "age"  # days relative to the application, shown in whole years
    MONTHS = "months"  # months relative to the application
    MONTH_COUNT = "month_count"  # a duration in months
    YEARS = "years"


# The domain rules (checked before the training range, which is only widened by a margin).
ANY = DomainRule()
BINARY = DomainRule(0.0, 1.0, True, "0 or 1")
SHARE = DomainRule(0.0, 1.0, False, "a share or a normalised score, in [0, 1]")
NON_NEGATIVE = DomainRule(0.0, math.inf, False, "a count, an amount or a ratio that cannot be negative")
PAST = DomainRule(-math.inf, 0.0, False, "days before the application, at most 0")
EXTERNAL_SCORE = DomainRule(0.0, 1.0, False, "an external score, in [0, 1]")
HOUR = DomainRule(0.0, 23.0, False, "an hour of the day, 0 to 23")
RATING = DomainRule(1.0, 3.0, False, "a rating from 1 to 3")


@dataclass(frozen=True)
class Meaning:
    """What one column means: its French name (a whole label for an application column, the part after
    "<source> : " for a child column), unit and domain; `table` and `source` when the column comes from
    another table than its aggregate's (the bureau's monthly history)."""

    label: str
    unit: Unit = Unit.NUMBER
    domain: DomainRule = ANY
    table: str | None = None
    source: str | None = None


def _m(label: str, unit: Unit = Unit.NUMBER, domain: DomainRule = ANY, **where: str) -> Meaning:
    return Meaning(label, unit, domain, **where)


_MONEY_POS, _MONEY_ANY = (Unit.MONEY, NON_NEGATIVE), (Unit.MONEY, ANY)
_DAYS_ANY, _LATE_DAYS = (Unit.DAYS, ANY), (Unit.DAY_COUNT, NON_NEGATIVE)
_COUNT, _MONTHS = (Unit.NUMBER, NON_NEGATIVE), (Unit.MONTHS, ANY)
_HISTORY = {"table": BUREAU_BALANCE, "source": "Historique mensuel ailleurs"}

# Columns of the child tables (and those derived from them in `scoring.features`), per table.
# Amounts negative by definition in the Kaggle tables (bureau debt and limit, card balance, receivables
# and drawings, previous down payment, instalment PAYMENT_DIFF) and relative DAYS_* / MONTHS_* get no
# sign rule; the real extracts pass every rule (tests/api/test_rules.py).
COLUMN_MEANINGS: dict[str, dict[str, Meaning]] = {
    BUREAU: {
        "DAYS_CREDIT": _m("ancienneté du crédit", *_DAYS_ANY),
        "CREDIT_DAY_OVERDUE": _m("jours d'impayé", *_LATE_DAYS),
        "DAYS_CREDIT_ENDDATE": _m("fin prévue du crédit", *_DAYS_ANY),
        "DAYS_CREDIT_UPDATE": _m("dernière mise à jour", *_DAYS_ANY),
        "AMT_CREDIT_MAX_OVERDUE": _m("plus gros impayé", *_MONEY_POS),
        "CNT_CREDIT_PROLONG": _m("prolongations", *_COUNT),
        "AMT_CREDIT_SUM": _m("montant des crédits", *_MONEY_POS),
        "AMT_CREDIT_SUM_DEBT": _m("dette", *_MONEY_ANY),
        "AMT_CREDIT_SUM_OVERDUE": _m("impayé", *_MONEY_POS),
        "AMT_CREDIT_SUM_LIMIT": _m("plafond", *_MONEY_ANY),
        "AMT_ANNUITY": _m("annuité", *_MONEY_POS),
        "BB_MONTHS_COUNT": _m("mois d'historique", *_COUNT, **_HISTORY),
        "BB_LATE_SHARE": _m("part des mois en retard", Unit.PERCENT, SHARE, **_HISTORY),
    },
    PREVIOUS_APPLICATION: {
        "AMT_ANNUITY": _m("annuité", *_MONEY_POS),
        "AMT_APPLICATION": _m("montant demandé", *_MONEY_POS),
        "AMT_CREDIT": _m("montant du crédit", *_MONEY_POS),
        "APP_CREDIT_PERC": _m("demandé / accordé", Unit.PERCENT, NON_NEGATIVE),
        "AMT_DOWN_PAYMENT": _m("apport", *_MONEY_ANY),
        "AMT_GOODS_PRICE": _m("prix du bien", *_MONEY_POS),
        "HOUR_APPR_PROCESS_START": _m("heure de la demande", Unit.NUMBER, HOUR),
        "RATE_DOWN_PAYMENT": _m("taux d'apport", Unit.PERCENT, ANY),
        "DAYS_DECISION": _m("ancienneté de la décision", *_DAYS_ANY),
        "CNT_PAYMENT": _m("durée (mois)", Unit.MONTH_COUNT, NON_NEGATIVE),
        "DAYS_LAST_DUE_1ST_VERSION": _m("dernière échéance prévue", *_DAYS_ANY),
    },
    POS_CASH: {
        "MONTHS_BALANCE": _m("ancienneté du relevé", *_MONTHS),
        "CNT_INSTALMENT_FUTURE": _m("échéances restantes", *_COUNT),
        "SK_DPD": _m("jours de retard", *_LATE_DAYS),
        "SK_DPD_DEF": _m("jours de retard significatif", *_LATE_DAYS),
    },
    INSTALMENTS: {
        "DPD": _m("jours de retard", *_LATE_DAYS),
        "DBD": _m("jours d'avance", *_LATE_DAYS),
        "LATE": _m("échéances en retard", Unit.NUMBER, BINARY),
        "PAYMENT_PERC": _m("part payée", Unit.PERCENT, NON_NEGATIVE),
        "PAYMENT_DIFF": _m("reste dû", *_MONEY_ANY),
        "UNDERPAID": _m("échéances sous-payées", Unit.NUMBER, BINARY),
        "AMT_INSTALMENT": _m("montant dû", *_MONEY_POS),
        "AMT_PAYMENT": _m("montant payé", *_MONEY_POS),
        "DAYS_ENTRY_PAYMENT": _m("date de paiement", *_DAYS_ANY),
    },
    CREDIT_CARD: {
        "MONTHS_BALANCE": _m("ancienneté du relevé", *_MONTHS),
        "AMT_BALANCE": _m("solde", *_MONEY_ANY),
        "AMT_CREDIT_LIMIT_ACTUAL": _m("plafond", *_MONEY_POS),
        "AMT_DRAWINGS_ATM_CURRENT": _m("retraits DAB (montant)", *_MONEY_ANY),
        "AMT_DRAWINGS_CURRENT": _m("retraits et achats (montant)", *_MONEY_ANY),
        "AMT_DRAWINGS_POS_CURRENT": _m("achats (montant)", *_MONEY_ANY),
        "AMT_INST_MIN_REGULARITY": _m("mensualité minimale", *_MONEY_POS),
        "AMT_PAYMENT_CURRENT": _m("paiements du mois", *_MONEY_POS),
        "AMT_PAYMENT_TOTAL_CURRENT": _m("paiements totaux du mois", *_MONEY_POS),
        "AMT_RECEIVABLE_PRINCIPAL": _m("capital restant dû", *_MONEY_ANY),
        "AMT_TOTAL_RECEIVABLE": _m("total restant dû", *_MONEY_ANY),
        "CNT_DRAWINGS_ATM_CURRENT": _m("retraits DAB (nombre)", *_COUNT),
        "CNT_DRAWINGS_CURRENT": _m("retraits et achats (nombre)", *_COUNT),
        "CNT_DRAWINGS_POS_CURRENT": _m("achats (nombre)", *_COUNT),
        "CNT_INSTALMENT_MATURE_CUM": _m("échéances payées", *_COUNT),
        "BALANCE_LIMIT_RATIO": _m("utilisation du plafond", Unit.PERCENT, ANY),
        "SK_DPD": _m("jours de retard", *_LATE_DAYS),
        "SK_DPD_DEF": _m("jours de retard significatif", *_LATE_DAYS),
    },
}


@dataclass(frozen=True)
class AggregateSpec:
    """One aggregation of a child table per applicant: ``<prefix>_<column>_<agg>`` for `aggs`, the share of
    each category of `categorical` (``<prefix>_<column>_<category>_mean``), and ``<prefix>_COUNT`` when
    `count`. `source` is the French name of the rows aggregated; `named` gives a hand-written label
    (``{"<column>_<agg>": label}``) where the composed one reads worse."""

    prefix: str
    table: str
    source: str
    aggs: Mapping[str, tuple[str, ...]]
    categorical: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)  # None: all categories
    count: bool = True
    named: Mapping[str, str] = field(default_factory=dict)

    def categories(self) -> dict[str, tuple[str, ...]]:
        """The one-hot columns and their categories (the table's declared ones unless given)."""
        return {c: cats if cats is not None else tuple(CATEGORIES[self.table][c])
                for c, cats in self.categorical.items()}


def _aggs(**columns: str) -> dict[str, tuple[str, ...]]:
    return {column: tuple(aggs.split()) for column, aggs in columns.items()}


BUREAU_SPEC = AggregateSpec(
    "BUREAU", BUREAU, "Autres organismes",
    _aggs(DAYS_CREDIT="min max mean", CREDIT_DAY_OVERDUE="max mean", DAYS_CREDIT_ENDDATE="min max mean",
          DAYS_CREDIT_UPDATE="mean", AMT_CREDIT_MAX_OVERDUE="max mean", CNT_CREDIT_PROLONG="sum",
          AMT_CREDIT_SUM="max mean sum", AMT_CREDIT_SUM_DEBT="max mean sum", AMT_CREDIT_SUM_OVERDUE="max mean sum",
          AMT_CREDIT_SUM_LIMIT="mean sum", AMT_ANNUITY="max mean", BB_MONTHS_COUNT="mean sum",
          BB_LATE_SHARE="mean max"),
    categorical={"CREDIT_ACTIVE": None, "CREDIT_TYPE": None},
    named={"AMT_CREDIT_SUM_DEBT_sum": "Dette en cours auprès d'autres organismes",
           "AMT_CREDIT_SUM_OVERDUE_sum": "Impayés cumulés auprès d'autres organismes (€)",
           "CREDIT_DAY_OVERDUE_max": "Retard max. auprès d'autres organismes (jours)"},
)
BUREAU_ACTIVE_SPEC = AggregateSpec(
    "BUREAU_ACTIVE", BUREAU, "Crédits actifs ailleurs",
    _aggs(AMT_CREDIT_SUM="sum", AMT_CREDIT_SUM_DEBT="sum", DAYS_CREDIT="mean"), count=False,
)
PREV_SPEC = AggregateSpec(
    "PREV", PREVIOUS_APPLICATION, "Demandes précédentes",
    _aggs(AMT_ANNUITY="min max mean", AMT_APPLICATION="min max mean", AMT_CREDIT="min max mean",
          APP_CREDIT_PERC="min max mean", AMT_DOWN_PAYMENT="max mean", AMT_GOODS_PRICE="max mean",
          HOUR_APPR_PROCESS_START="mean", RATE_DOWN_PAYMENT="max mean", DAYS_DECISION="min max mean",
          CNT_PAYMENT="mean sum", DAYS_LAST_DUE_1ST_VERSION="max mean"),
    categorical={c: None for c in ("NAME_CONTRACT_STATUS", "NAME_CONTRACT_TYPE", "NAME_YIELD_GROUP",
                                   "NAME_CLIENT_TYPE")},
    named={"NAME_CONTRACT_STATUS_Refused_mean": "Part de demandes précédentes refusées",
           "NAME_CONTRACT_STATUS_Approved_mean": "Part de demandes précédentes acceptées"},
)
_PREV_STATUS_AGGS = _aggs(AMT_CREDIT="mean", APP_CREDIT_PERC="mean", DAYS_DECISION="max")
# The previous applications of one status, aggregated apart: {status: spec}.
PREV_STATUS_SPECS: dict[str, AggregateSpec] = {
    "Approved": AggregateSpec("PREV_APPROVED", PREVIOUS_APPLICATION, "Demandes acceptées", _PREV_STATUS_AGGS,
                              count=False),
    "Refused": AggregateSpec("PREV_REFUSED", PREVIOUS_APPLICATION, "Demandes refusées", _PREV_STATUS_AGGS,
                             count=False, named={"AMT_CREDIT_mean": "Montant moyen des demandes refusées"}),
}
POS_SPEC = AggregateSpec(
    "POS", POS_CASH, "Prêts POS / espèces",
    _aggs(MONTHS_BALANCE="max mean", CNT_INSTALMENT_FUTURE="mean", SK_DPD="max mean", SK_DPD_DEF="max mean"),
    categorical={"NAME_CONTRACT_STATUS": ("Active", "Completed", "Signed")},
    named={"SK_DPD_DEF_mean": "Retards POS (jours)"},
)
INSTAL_SPEC = AggregateSpec(
    "INSTAL", INSTALMENTS, "Échéances",
    _aggs(DPD="max mean sum", DBD="max mean sum", LATE="mean sum", PAYMENT_PERC="min mean",
          PAYMENT_DIFF="max mean sum", UNDERPAID="mean", AMT_INSTALMENT="max mean sum",
          AMT_PAYMENT="min max mean sum", DAYS_ENTRY_PAYMENT="max mean"),
    named={"DPD_mean": "Retard moyen des échéances (jours)", "DPD_max": "Retard max. des échéances (jours)",
           "DPD_sum": "Jours de retard cumulés sur les échéances", "DBD_mean": "Avance moyenne de paiement (jours)",
           "LATE_mean": "Part des échéances payées en retard", "PAYMENT_PERC_mean": "Part payée des échéances"},
)
CRECARD_SPEC = AggregateSpec(
    "CRECARD", CREDIT_CARD, "Carte de crédit",
    _aggs(MONTHS_BALANCE="min", AMT_BALANCE="max mean", AMT_CREDIT_LIMIT_ACTUAL="max mean",
          AMT_DRAWINGS_ATM_CURRENT="max mean sum", AMT_DRAWINGS_CURRENT="max mean", AMT_DRAWINGS_POS_CURRENT="max mean",
          AMT_INST_MIN_REGULARITY="mean", AMT_PAYMENT_CURRENT="mean", AMT_PAYMENT_TOTAL_CURRENT="mean sum",
          AMT_RECEIVABLE_PRINCIPAL="mean", AMT_TOTAL_RECEIVABLE="max mean", CNT_DRAWINGS_ATM_CURRENT="max mean",
          CNT_DRAWINGS_CURRENT="max mean", CNT_DRAWINGS_POS_CURRENT="mean", CNT_INSTALMENT_MATURE_CUM="max",
          BALANCE_LIMIT_RATIO="max mean", SK_DPD="max mean", SK_DPD_DEF="max mean"),
    named={"AMT_DRAWINGS_ATM_CURRENT_mean": "Retraits DAB par mois (montant moyen)"},
)
# Every aggregate, in the order of the feature columns.
CHILD_SPECS: tuple[AggregateSpec, ...] = (BUREAU_SPEC, BUREAU_ACTIVE_SPEC, PREV_SPEC, *PREV_STATUS_SPECS.values(),
                                          POS_SPEC, INSTAL_SPEC, CRECARD_SPEC)

# --- The application row ------------------------------------------------------------------------

# Application columns turned into 0/1 under their own name (Y = 1).
YES_NO_COLUMNS = ("FLAG_OWN_CAR", "FLAG_OWN_REALTY")
# The _MODE / _MEDI building statistics repeat the _AVG ones almost exactly: kept out.
DROPPED_APPLICATION_COLUMNS = tuple(c for c in BUILDING_COLUMNS if not c.endswith("_AVG"))

# Domain ratios of the application row: (feature, numerator, denominator, meaning).
APPLICATION_RATIOS: tuple[tuple[str, str, str, Meaning], ...] = (
    ("DAYS_EMPLOYED_PERC", "DAYS_EMPLOYED", "DAYS_BIRTH", _m("Part de la vie en emploi", Unit.PERCENT, NON_NEGATIVE)),
    ("CREDIT_INCOME_PERC", "AMT_CREDIT", "AMT_INCOME_TOTAL", _m("Crédit / revenu", Unit.PERCENT, NON_NEGATIVE)),
    ("INCOME_PER_PERSON", "AMT_INCOME_TOTAL", "CNT_FAM_MEMBERS", _m("Revenu par personne du foyer", *_MONEY_POS)),
    ("ANNUITY_INCOME_PERC", "AMT_ANNUITY", "AMT_INCOME_TOTAL", _m("Annuité / revenu", Unit.PERCENT, NON_NEGATIVE)),
    ("PAYMENT_RATE", "AMT_ANNUITY", "AMT_CREDIT", _m("Taux de remboursement annuel", Unit.PERCENT, NON_NEGATIVE)),
    ("GOODS_CREDIT_PERC", "AMT_GOODS_PRICE", "AMT_CREDIT", _m("Prix du bien / crédit", Unit.PERCENT, NON_NEGATIVE)),
)

_FLAG = (Unit.NUMBER, BINARY)
_SINCE = (Unit.DAYS, PAST)
_CREDIT_BUREAU = (("HOUR", "heure"), ("DAY", "jour"), ("WEEK", "semaine"), ("MON", "mois"), ("QRT", "trimestre"),
                  ("YEAR", "année"))
_CITIES = (("REG_REGION_NOT_LIVE_REGION", "Région de domicile ≠ région déclarée"),
           ("REG_REGION_NOT_WORK_REGION", "Région de travail ≠ région déclarée"),
           ("LIVE_REGION_NOT_WORK_REGION", "Région de travail ≠ région de domicile"),
           ("REG_CITY_NOT_LIVE_CITY", "Ville de domicile ≠ ville déclarée"),
           ("REG_CITY_NOT_WORK_CITY", "Ville de travail ≠ ville déclarée"),
           ("LIVE_CITY_NOT_WORK_CITY", "Ville de travail ≠ ville de domicile"))
# The numeric and yes/no columns of the application (FLAG_DOCUMENT_<n> and the building statistics are
# named by `scoring.feature_registry` from their parts; an entry here wins).
APPLICATION_MEANINGS: dict[str, Meaning] = {
    "FLAG_OWN_CAR": _m("Propriétaire d'un véhicule", *_FLAG),
    "FLAG_OWN_REALTY": _m("Propriétaire de son logement", *_FLAG),
    "CNT_CHILDREN": _m("Nombre d'enfants", *_COUNT),
    "AMT_INCOME_TOTAL": _m("Revenu annuel", *_MONEY_POS),
    "AMT_CREDIT": _m("Montant du crédit", *_MONEY_POS),
    "AMT_ANNUITY": _m("Annuité", *_MONEY_POS),
    "AMT_GOODS_PRICE": _m("Prix du bien", *_MONEY_POS),
    "REGION_POPULATION_RELATIVE": _m("Densité de la région", Unit.NUMBER, SHARE),
    "DAYS_BIRTH": _m("Âge", Unit.AGE, PAST),
    "DAYS_EMPLOYED": _m("Ancienneté dans l'emploi", *_SINCE),
    "DAYS_REGISTRATION": _m("Ancienneté de l'enregistrement", *_SINCE),
    "DAYS_ID_PUBLISH": _m("Ancienneté de la pièce d'identité", *_SINCE),
    "DAYS_LAST_PHONE_CHANGE": _m("Ancienneté du téléphone", *_SINCE),
    "OWN_CAR_AGE": _m("Âge du véhicule", Unit.YEARS, NON_NEGATIVE),
    "FLAG_MOBIL": _m("Mobile fourni", *_FLAG),
    "FLAG_EMP_PHONE": _m("Téléphone professionnel fourni", *_FLAG),
    "FLAG_WORK_PHONE": _m("Téléphone au travail fourni", *_FLAG),
    "FLAG_CONT_MOBILE": _m("Mobile joignable", *_FLAG),
    "FLAG_PHONE": _m("Téléphone fixe fourni", *_FLAG),
    "FLAG_EMAIL": _m("E-mail fourni", *_FLAG),
    "CNT_FAM_MEMBERS": _m("Taille du foyer", *_COUNT),
    "REGION_RATING_CLIENT": _m("Note de la région", Unit.NUMBER, RATING),
    "REGION_RATING_CLIENT_W_CITY": _m("Note de la région (avec la ville)", Unit.NUMBER, RATING),
    "HOUR_APPR_PROCESS_START": _m("Heure de la demande", Unit.NUMBER, HOUR),
    **{column: _m(label, *_FLAG) for column, label in _CITIES},
    **{f"EXT_SOURCE_{i}": _m(f"Score externe {i}", Unit.NUMBER, EXTERNAL_SCORE) for i in (1, 2, 3)},
    "YEARS_BEGINEXPLUATATION_AVG": _m("Immeuble : ancienneté d'exploitation (moyenne, normalisée)", Unit.NUMBER, SHARE),
    "TOTALAREA_MODE": _m("Immeuble : surface totale", Unit.NUMBER, SHARE),
    **{f"{kind}_{days}_CNT_SOCIAL_CIRCLE": _m(f"Entourage {word} ({days} j)", *_COUNT)
       for days in (30, 60) for kind, word in (("OBS", "observé"), ("DEF", "en défaut"))},
    **{f"AMT_REQ_CREDIT_BUREAU_{k}": _m(f"Consultations du bureau de crédit ({v})", *_COUNT)
       for k, v in _CREDIT_BUREAU},
}
