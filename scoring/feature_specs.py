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


class Topic(StrEnum):
    """What a feature is about, for the customer's letter (`api.letters` words each topic)."""

    PERSONAL = "personal"  # a protected characteristic (sex, age, family, place of residence): never cited
    EXTERNAL_SCORES = "external scores"
    OTHER_LENDERS = "other lenders"
    OTHER_LENDERS_OVERDUE = "overdue at other lenders"
    LATE_PAYMENTS = "late payments here"
    REFUSED_APPLICATIONS = "refused applications"
    CARD = "credit card"
    CREDIT_VS_INCOME = "credit against income"
    INCOME = "income"
    EMPLOYMENT = "employment"
    DOCUMENTS = "documents"


# The domain rules: what a value can physically be. Only these refuse a value (at every door); a value inside
# its domain but past the training range is scored and flagged (`serving.rules`, docs/rules.md).
DAYS_PER_YEAR = 365.25
LIFETIME_DAYS = 120 * DAYS_PER_YEAR  # no applicant is older, so no past date of theirs is further back
ADULT_DAYS = 18 * DAYS_PER_YEAR  # a credit applicant is an adult
ANY = DomainRule()
BINARY = DomainRule(0.0, 1.0, True, "0 or 1")
SHARE = DomainRule(0.0, 1.0, False, "a share or a normalised score, in [0, 1]")
NON_NEGATIVE = DomainRule(0.0, math.inf, False, "a count, an amount or a ratio that cannot be negative")
PAST = DomainRule(-LIFETIME_DAYS, 0.0, False, "days before the application, at most 0 and within 120 years")
AGE = DomainRule(-LIFETIME_DAYS, -ADULT_DAYS, False, "an age of 18 to 120 years (days before the application)")
EXTERNAL_SCORE = DomainRule(0.0, 1.0, False, "an external score, in [0, 1]")
HOUR = DomainRule(0.0, 23.0, False, "an hour of the day, 0 to 23")
RATING = DomainRule(1.0, 3.0, False, "a rating from 1 to 3")


@dataclass(frozen=True)
class Meaning:
    """What one column means: its French name (a whole label for an application column, the part after
    "<source> : " for a child column), unit and domain; `table` and `source` when the column comes from
    another table than its aggregate's (the bureau's monthly history); the `topic` of an application
    column (a child column's is its aggregate's)."""

    label: str
    unit: Unit = Unit.NUMBER
    domain: DomainRule = ANY
    table: str | None = None
    source: str | None = None
    topic: Topic | None = None


def _kind(unit: Unit, domain: DomainRule, topic: Topic | None = None, **labels: str) -> dict[str, Meaning]:
    """Columns of one kind: {column: Meaning(label, unit, domain, topic=topic)}."""
    return {column: Meaning(label, unit, domain, topic=topic) for column, label in labels.items()}


_COUNT = (Unit.NUMBER, NON_NEGATIVE)
_HISTORY = {"table": BUREAU_BALANCE, "source": "Historique mensuel ailleurs"}
_DPD = _kind(Unit.DAY_COUNT, NON_NEGATIVE, SK_DPD="jours de retard", SK_DPD_DEF="jours de retard significatif")

# Columns of the child tables (and those derived from them in `scoring.features`), per table, by kind.
# Amounts negative by definition in the Kaggle tables (bureau debt and limit, card balance, receivables
# and drawings, previous down payment, instalment PAYMENT_DIFF) and relative DAYS_* / MONTHS_* get no
# sign rule; the real extracts pass every rule (tests/api/test_rules.py).
COLUMN_MEANINGS: dict[str, dict[str, Meaning]] = {
    BUREAU: {
        **_kind(Unit.DAYS, ANY, DAYS_CREDIT="ancienneté du crédit", DAYS_CREDIT_ENDDATE="fin prévue du crédit",
                DAYS_CREDIT_UPDATE="dernière mise à jour"),
        **_kind(Unit.DAY_COUNT, NON_NEGATIVE, CREDIT_DAY_OVERDUE="jours d'impayé"),
        **_kind(Unit.MONEY, NON_NEGATIVE, AMT_CREDIT_MAX_OVERDUE="plus gros impayé",
                AMT_CREDIT_SUM="montant des crédits", AMT_CREDIT_SUM_OVERDUE="impayé", AMT_ANNUITY="annuité"),
        **_kind(Unit.MONEY, ANY, AMT_CREDIT_SUM_DEBT="dette", AMT_CREDIT_SUM_LIMIT="plafond"),
        **_kind(*_COUNT, CNT_CREDIT_PROLONG="prolongations"),
        "BB_MONTHS_COUNT": Meaning("mois d'historique", *_COUNT, **_HISTORY),
        "BB_LATE_SHARE": Meaning("part des mois en retard", Unit.PERCENT, SHARE, **_HISTORY),
    },
    PREVIOUS_APPLICATION: {
        **_kind(Unit.MONEY, NON_NEGATIVE, AMT_ANNUITY="annuité", AMT_APPLICATION="montant demandé",
                AMT_CREDIT="montant du crédit", AMT_GOODS_PRICE="prix du bien"),
        **_kind(Unit.MONEY, ANY, AMT_DOWN_PAYMENT="apport"),
        **_kind(Unit.PERCENT, NON_NEGATIVE, APP_CREDIT_PERC="demandé / accordé"),
        **_kind(Unit.PERCENT, ANY, RATE_DOWN_PAYMENT="taux d'apport"),
        **_kind(Unit.NUMBER, HOUR, HOUR_APPR_PROCESS_START="heure de la demande"),
        **_kind(Unit.DAYS, ANY, DAYS_DECISION="ancienneté de la décision",
                DAYS_LAST_DUE_1ST_VERSION="dernière échéance prévue"),
        **_kind(Unit.MONTH_COUNT, NON_NEGATIVE, CNT_PAYMENT="durée (mois)"),
    },
    POS_CASH: {
        **_kind(Unit.MONTHS, ANY, MONTHS_BALANCE="ancienneté du relevé"),
        **_kind(*_COUNT, CNT_INSTALMENT_FUTURE="échéances restantes"),
        **_DPD,
    },
    INSTALMENTS: {
        **_kind(Unit.DAY_COUNT, NON_NEGATIVE, DPD="jours de retard", DBD="jours d'avance"),
        **_kind(Unit.NUMBER, BINARY, LATE="échéances en retard", UNDERPAID="échéances sous-payées"),
        **_kind(Unit.PERCENT, NON_NEGATIVE, PAYMENT_PERC="part payée"),
        **_kind(Unit.MONEY, ANY, PAYMENT_DIFF="reste dû"),
        **_kind(Unit.MONEY, NON_NEGATIVE, AMT_INSTALMENT="montant dû", AMT_PAYMENT="montant payé"),
        **_kind(Unit.DAYS, ANY, DAYS_ENTRY_PAYMENT="date de paiement"),
    },
    CREDIT_CARD: {
        **_kind(Unit.MONTHS, ANY, MONTHS_BALANCE="ancienneté du relevé"),
        **_kind(Unit.MONEY, ANY, AMT_BALANCE="solde", AMT_DRAWINGS_ATM_CURRENT="retraits DAB (montant)",
                AMT_DRAWINGS_CURRENT="retraits et achats (montant)", AMT_DRAWINGS_POS_CURRENT="achats (montant)",
                AMT_RECEIVABLE_PRINCIPAL="capital restant dû", AMT_TOTAL_RECEIVABLE="total restant dû"),
        **_kind(Unit.MONEY, NON_NEGATIVE, AMT_CREDIT_LIMIT_ACTUAL="plafond",
                AMT_INST_MIN_REGULARITY="mensualité minimale", AMT_PAYMENT_CURRENT="paiements du mois",
                AMT_PAYMENT_TOTAL_CURRENT="paiements totaux du mois"),
        **_kind(*_COUNT, CNT_DRAWINGS_ATM_CURRENT="retraits DAB (nombre)",
                CNT_DRAWINGS_CURRENT="retraits et achats (nombre)", CNT_DRAWINGS_POS_CURRENT="achats (nombre)",
                CNT_INSTALMENT_MATURE_CUM="échéances payées"),
        **_kind(Unit.PERCENT, ANY, BALANCE_LIMIT_RATIO="utilisation du plafond"),
        **_DPD,
    },
}


@dataclass(frozen=True)
class AggregateSpec:
    """One aggregation of a child table per applicant: ``<prefix>_<column>_<agg>`` for `aggs`, the share of
    each category of `categorical` (``<prefix>_<column>_<category>_mean``), and ``<prefix>_COUNT`` when
    `count`. `source` is the French name of the rows aggregated; `named` gives a hand-written label
    (``{"<column>_<agg>": label}``) where the composed one reads worse. `topic` is what its features are
    about (`topics`: another one for some columns or ``<column>_<category>``; None: no topic)."""

    prefix: str
    table: str
    source: str
    aggs: Mapping[str, tuple[str, ...]]
    categorical: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)  # None: all categories
    count: bool = True
    named: Mapping[str, str] = field(default_factory=dict)
    topic: Topic | None = None
    topics: Mapping[str, Topic | None] = field(default_factory=dict)

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
    topic=Topic.OTHER_LENDERS,
    topics=dict.fromkeys(("CREDIT_DAY_OVERDUE", "AMT_CREDIT_MAX_OVERDUE", "AMT_CREDIT_SUM_OVERDUE"),
                         Topic.OTHER_LENDERS_OVERDUE),
)
BUREAU_ACTIVE_SPEC = AggregateSpec(
    "BUREAU_ACTIVE", BUREAU, "Crédits actifs ailleurs",
    _aggs(AMT_CREDIT_SUM="sum", AMT_CREDIT_SUM_DEBT="sum", DAYS_CREDIT="mean"), count=False,
    topic=Topic.OTHER_LENDERS,
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
    topics={"NAME_CONTRACT_STATUS_Refused": Topic.REFUSED_APPLICATIONS},
)
_PREV_STATUS_AGGS = _aggs(AMT_CREDIT="mean", APP_CREDIT_PERC="mean", DAYS_DECISION="max")
# The previous applications of one status, aggregated apart: {status: spec}.
PREV_STATUS_SPECS: dict[str, AggregateSpec] = {
    "Approved": AggregateSpec("PREV_APPROVED", PREVIOUS_APPLICATION, "Demandes acceptées", _PREV_STATUS_AGGS,
                              count=False),
    "Refused": AggregateSpec("PREV_REFUSED", PREVIOUS_APPLICATION, "Demandes refusées", _PREV_STATUS_AGGS,
                             count=False, named={"AMT_CREDIT_mean": "Montant moyen des demandes refusées"},
                             topic=Topic.REFUSED_APPLICATIONS),
}
POS_SPEC = AggregateSpec(
    "POS", POS_CASH, "Prêts POS / espèces",
    _aggs(MONTHS_BALANCE="max mean", CNT_INSTALMENT_FUTURE="mean", SK_DPD="max mean", SK_DPD_DEF="max mean"),
    categorical={"NAME_CONTRACT_STATUS": ("Active", "Completed", "Signed")},
    named={"SK_DPD_DEF_mean": "Retards POS (jours)"},
    topics=dict.fromkeys(("SK_DPD", "SK_DPD_DEF"), Topic.LATE_PAYMENTS),
)
INSTAL_SPEC = AggregateSpec(
    "INSTAL", INSTALMENTS, "Échéances", topic=Topic.LATE_PAYMENTS,
    named={"DPD_mean": "Retard moyen des échéances (jours)", "DPD_max": "Retard max. des échéances (jours)",
           "DPD_sum": "Jours de retard cumulés sur les échéances", "DBD_mean": "Avance moyenne de paiement (jours)",
           "LATE_mean": "Part des échéances payées en retard", "PAYMENT_PERC_mean": "Part payée des échéances"},
    aggs=_aggs(DPD="max mean sum", DBD="max mean sum", LATE="mean sum", PAYMENT_PERC="min mean",
               PAYMENT_DIFF="max mean sum", UNDERPAID="mean", AMT_INSTALMENT="max mean sum",
               AMT_PAYMENT="min max mean sum", DAYS_ENTRY_PAYMENT="max mean"),
)
CRECARD_SPEC = AggregateSpec(
    "CRECARD", CREDIT_CARD, "Carte de crédit",
    _aggs(MONTHS_BALANCE="min", AMT_BALANCE="max mean", AMT_CREDIT_LIMIT_ACTUAL="max mean",
          AMT_DRAWINGS_ATM_CURRENT="max mean sum", AMT_DRAWINGS_CURRENT="max mean", AMT_DRAWINGS_POS_CURRENT="max mean",
          AMT_INST_MIN_REGULARITY="mean", AMT_PAYMENT_CURRENT="mean", AMT_PAYMENT_TOTAL_CURRENT="mean sum",
          AMT_RECEIVABLE_PRINCIPAL="mean", AMT_TOTAL_RECEIVABLE="max mean",
          **dict.fromkeys(("CNT_DRAWINGS_ATM_CURRENT", "CNT_DRAWINGS_CURRENT"), "max mean"),
          CNT_DRAWINGS_POS_CURRENT="mean", CNT_INSTALMENT_MATURE_CUM="max", BALANCE_LIMIT_RATIO="max mean",
          SK_DPD="max mean", SK_DPD_DEF="max mean"),
    named={"AMT_DRAWINGS_ATM_CURRENT_mean": "Retraits DAB par mois (montant moyen)"},
    topic=Topic.CARD,
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
_RATIO = (Unit.PERCENT, NON_NEGATIVE)
_CREDIT = {"topic": Topic.CREDIT_VS_INCOME}
APPLICATION_RATIOS: tuple[tuple[str, str, str, Meaning], ...] = (
    ("DAYS_EMPLOYED_PERC", "DAYS_EMPLOYED", "DAYS_BIRTH",
     Meaning("Part de la vie en emploi", *_RATIO, topic=Topic.EMPLOYMENT)),
    ("CREDIT_INCOME_PERC", "AMT_CREDIT", "AMT_INCOME_TOTAL", Meaning("Crédit / revenu", *_RATIO, **_CREDIT)),
    ("INCOME_PER_PERSON", "AMT_INCOME_TOTAL", "CNT_FAM_MEMBERS",
     Meaning("Revenu par personne du foyer", Unit.MONEY, NON_NEGATIVE, topic=Topic.INCOME)),
    ("ANNUITY_INCOME_PERC", "AMT_ANNUITY", "AMT_INCOME_TOTAL", Meaning("Annuité / revenu", *_RATIO, **_CREDIT)),
    ("PAYMENT_RATE", "AMT_ANNUITY", "AMT_CREDIT", Meaning("Taux de remboursement annuel", *_RATIO, **_CREDIT)),
    ("GOODS_CREDIT_PERC", "AMT_GOODS_PRICE", "AMT_CREDIT", Meaning("Prix du bien / crédit", *_RATIO, **_CREDIT)),
)

_CREDIT_BUREAU = (("HOUR", "heure"), ("DAY", "jour"), ("WEEK", "semaine"), ("MON", "mois"), ("QRT", "trimestre"),
                  ("YEAR", "année"))
_CITIES = {"REG_REGION_NOT_LIVE_REGION": "Région de domicile ≠ région déclarée",
           "REG_REGION_NOT_WORK_REGION": "Région de travail ≠ région déclarée",
           "LIVE_REGION_NOT_WORK_REGION": "Région de travail ≠ région de domicile",
           "REG_CITY_NOT_LIVE_CITY": "Ville de domicile ≠ ville déclarée",
           "REG_CITY_NOT_WORK_CITY": "Ville de travail ≠ ville déclarée",
           "LIVE_CITY_NOT_WORK_CITY": "Ville de travail ≠ ville de domicile"}
# The numeric and yes/no columns of the application, by kind (FLAG_DOCUMENT_<n> and the building
# statistics are named by `scoring.feature_registry` from their parts; an entry here wins).
APPLICATION_MEANINGS: dict[str, Meaning] = {
    **_kind(Unit.NUMBER, BINARY, FLAG_OWN_CAR="Propriétaire d'un véhicule",
            FLAG_OWN_REALTY="Propriétaire de son logement", FLAG_MOBIL="Mobile fourni",
            FLAG_EMP_PHONE="Téléphone professionnel fourni", FLAG_WORK_PHONE="Téléphone au travail fourni",
            FLAG_CONT_MOBILE="Mobile joignable", FLAG_PHONE="Téléphone fixe fourni", FLAG_EMAIL="E-mail fourni"),
    **_kind(Unit.NUMBER, BINARY, Topic.PERSONAL, **_CITIES),
    **_kind(*_COUNT, Topic.PERSONAL, CNT_CHILDREN="Nombre d'enfants", CNT_FAM_MEMBERS="Taille du foyer",
            **{f"{kind}_{days}_CNT_SOCIAL_CIRCLE": f"Entourage {word} ({days} j)"
               for days in (30, 60) for kind, word in (("OBS", "observé"), ("DEF", "en défaut"))}),
    **_kind(*_COUNT, **{f"AMT_REQ_CREDIT_BUREAU_{k}": f"Consultations du bureau de crédit ({v})"
                        for k, v in _CREDIT_BUREAU}),
    **_kind(Unit.MONEY, NON_NEGATIVE, Topic.INCOME, AMT_INCOME_TOTAL="Revenu annuel"),
    **_kind(Unit.MONEY, NON_NEGATIVE, Topic.CREDIT_VS_INCOME, AMT_CREDIT="Montant du crédit", AMT_ANNUITY="Annuité",
            AMT_GOODS_PRICE="Prix du bien"),
    **_kind(Unit.NUMBER, SHARE, Topic.PERSONAL, REGION_POPULATION_RELATIVE="Densité de la région"),
    **_kind(Unit.NUMBER, SHARE, TOTALAREA_MODE="Immeuble : surface totale",
            YEARS_BEGINEXPLUATATION_AVG="Immeuble : ancienneté d'exploitation (moyenne, normalisée)"),
    **_kind(Unit.AGE, AGE, Topic.PERSONAL, DAYS_BIRTH="Âge"),
    **_kind(Unit.DAYS, PAST, Topic.EMPLOYMENT, DAYS_EMPLOYED="Ancienneté dans l'emploi"),
    **_kind(Unit.DAYS, PAST, DAYS_REGISTRATION="Ancienneté de l'enregistrement",
            DAYS_ID_PUBLISH="Ancienneté de la pièce d'identité", DAYS_LAST_PHONE_CHANGE="Ancienneté du téléphone"),
    **_kind(Unit.YEARS, NON_NEGATIVE, OWN_CAR_AGE="Âge du véhicule"),
    **_kind(Unit.NUMBER, RATING, Topic.PERSONAL, REGION_RATING_CLIENT="Note de la région",
            REGION_RATING_CLIENT_W_CITY="Note de la région (avec la ville)"),
    **_kind(Unit.NUMBER, HOUR, HOUR_APPR_PROCESS_START="Heure de la demande"),
    **_kind(Unit.NUMBER, EXTERNAL_SCORE, Topic.EXTERNAL_SCORES,
            **{f"EXT_SOURCE_{i}": f"Score externe {i}" for i in (1, 2, 3)}),
}
# The topic of the one-hot columns of an application column (the others have none).
APPLICATION_GROUP_TOPICS: dict[str, Topic] = {
    **dict.fromkeys(("CODE_GENDER", "NAME_FAMILY_STATUS", "NAME_EDUCATION_TYPE", "NAME_HOUSING_TYPE"), Topic.PERSONAL),
    "NAME_INCOME_TYPE": Topic.EMPLOYMENT,
}
