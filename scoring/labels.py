"""French names of the engineered features, composed from their parts (DESIGN.md naming: one-hot
`<COLUMN>_<category>`, aggregates `<PREFIX>_<COLUMN>_<agg>`), for every feature a reason may show.

`scoring.schema.feature_label` gives the explicit label of a feature when there is one, else the
label composed here; `composed_label` also says whether every part was translated, so that a test
checks that no model feature is shown with English or raw column words.
"""

from __future__ import annotations

import re

SOURCES = (  # longest prefix first
    ("BUREAU_ACTIVE_", "Crédits actifs ailleurs"),
    ("BUREAU_BB_", "Historique mensuel ailleurs"),
    ("BUREAU_", "Autres organismes"),
    ("PREV_APPROVED_", "Demandes acceptées"),
    ("PREV_REFUSED_", "Demandes refusées"),
    ("PREV_", "Demandes précédentes"),
    ("POS_", "Prêts POS / espèces"),
    ("INSTAL_", "Échéances"),
    ("CRECARD_", "Carte de crédit"),
)
AGGREGATES = {"mean": "moyenne", "max": "max.", "min": "min.", "sum": "total"}
COLUMNS = {  # columns of the child tables
    "COUNT": "nombre",
    "AMT_CREDIT": "montant du crédit",
    "AMT_CREDIT_SUM": "montant des crédits",
    "AMT_CREDIT_SUM_DEBT": "dette",
    "AMT_CREDIT_SUM_OVERDUE": "impayé",
    "AMT_CREDIT_SUM_LIMIT": "plafond",
    "AMT_CREDIT_MAX_OVERDUE": "plus gros impayé",
    "AMT_ANNUITY": "annuité",
    "AMT_APPLICATION": "montant demandé",
    "AMT_GOODS_PRICE": "prix du bien",
    "AMT_DOWN_PAYMENT": "apport",
    "AMT_INSTALMENT": "montant dû",
    "AMT_PAYMENT": "montant payé",
    "AMT_BALANCE": "solde",
    "AMT_CREDIT_LIMIT_ACTUAL": "plafond",
    "AMT_DRAWINGS_ATM_CURRENT": "retraits DAB (montant)",
    "AMT_DRAWINGS_CURRENT": "retraits et achats (montant)",
    "AMT_DRAWINGS_POS_CURRENT": "achats (montant)",
    "AMT_DRAWINGS_OTHER_CURRENT": "autres retraits (montant)",
    "AMT_INST_MIN_REGULARITY": "mensualité minimale",
    "AMT_PAYMENT_CURRENT": "paiements du mois",
    "AMT_PAYMENT_TOTAL_CURRENT": "paiements totaux du mois",
    "AMT_RECEIVABLE_PRINCIPAL": "capital restant dû",
    "AMT_RECIVABLE": "montant à recevoir",
    "AMT_TOTAL_RECEIVABLE": "total restant dû",
    "CNT_DRAWINGS_ATM_CURRENT": "retraits DAB (nombre)",
    "CNT_DRAWINGS_CURRENT": "retraits et achats (nombre)",
    "CNT_DRAWINGS_POS_CURRENT": "achats (nombre)",
    "CNT_DRAWINGS_OTHER_CURRENT": "autres retraits (nombre)",
    "CNT_INSTALMENT_MATURE_CUM": "échéances payées",
    "CNT_INSTALMENT": "nombre d'échéances",
    "CNT_INSTALMENT_FUTURE": "échéances restantes",
    "CNT_CREDIT_PROLONG": "prolongations",
    "BALANCE_LIMIT_RATIO": "utilisation du plafond",
    "APP_CREDIT_PERC": "demandé / accordé",
    "CNT_PAYMENT": "durée (mois)",
    "DAYS_CREDIT": "ancienneté du crédit",
    "DAYS_CREDIT_ENDDATE": "fin prévue du crédit",
    "DAYS_ENDDATE_FACT": "fin effective du crédit",
    "DAYS_CREDIT_UPDATE": "dernière mise à jour",
    "DAYS_DECISION": "ancienneté de la décision",
    "DAYS_FIRST_DRAWING": "premier versement",
    "DAYS_FIRST_DUE": "première échéance",
    "DAYS_LAST_DUE_1ST_VERSION": "dernière échéance prévue",
    "DAYS_LAST_DUE": "dernière échéance",
    "DAYS_TERMINATION": "fin du contrat",
    "DAYS_INSTALMENT": "date d'échéance",
    "DAYS_ENTRY_PAYMENT": "date de paiement",
    "HOUR_APPR_PROCESS_START": "heure de la demande",
    "RATE_DOWN_PAYMENT": "taux d'apport",
    "MONTHS_BALANCE": "ancienneté du relevé",
    "CREDIT_DAY_OVERDUE": "jours d'impayé",
    "DPD": "jours de retard",
    "DBD": "jours d'avance",
    "SK_DPD": "jours de retard",
    "SK_DPD_DEF": "jours de retard significatif",
    "LATE": "échéances en retard",
    "LATE_SHARE": "part des mois en retard",
    "UNDERPAID": "échéances sous-payées",
    "PAYMENT_PERC": "part payée",
    "PAYMENT_DIFF": "reste dû",
    "MONTHS_COUNT": "mois d'historique",
    "NAME_CONTRACT_STATUS_Refused": "part refusée",
    "NAME_CONTRACT_STATUS_Approved": "part acceptée",
}
CHILD_GROUPS = {  # one-hot columns inside child tables: their mean is a share
    "CREDIT_ACTIVE": "statut",
    "CREDIT_TYPE": "type",
    "NAME_CONTRACT_STATUS": "statut",
    "NAME_CONTRACT_TYPE": "type de contrat",
    "NAME_YIELD_GROUP": "taux",
    "NAME_CLIENT_TYPE": "client",
}
APPLICATION_GROUPS = {  # one-hot columns of the application table
    "NAME_CONTRACT_TYPE": "Type de contrat",
    "CODE_GENDER": "Genre",
    "NAME_TYPE_SUITE": "Accompagnant",
    "NAME_INCOME_TYPE": "Type de revenu",
    "NAME_EDUCATION_TYPE": "Études",
    "NAME_FAMILY_STATUS": "Situation familiale",
    "NAME_HOUSING_TYPE": "Logement",
    "OCCUPATION_TYPE": "Profession",
    "ORGANIZATION_TYPE": "Employeur",
    "WEEKDAY_APPR_PROCESS_START": "Jour de la demande",
    "FONDKAPREMONT_MODE": "Immeuble (fonds de réparation)",
    "HOUSETYPE_MODE": "Immeuble (type)",
    "WALLSMATERIAL_MODE": "Immeuble (murs)",
    "EMERGENCYSTATE_MODE": "Immeuble (état d'urgence)",
}
BUILDING = {  # the normalised building columns (<COLUMN>_AVG / _MODE / _MEDI)
    "APARTMENTS": "appartements",
    "BASEMENTAREA": "surface du sous-sol",
    "YEARS_BEGINEXPLUATATION": "ancienneté d'exploitation",
    "YEARS_BUILD": "âge du bâtiment",
    "COMMONAREA": "parties communes",
    "ELEVATORS": "ascenseurs",
    "ENTRANCES": "entrées",
    "FLOORSMAX": "étages (max.)",
    "FLOORSMIN": "étages (min.)",
    "LANDAREA": "terrain",
    "LIVINGAPARTMENTS": "logements habités",
    "LIVINGAREA": "surface habitable",
    "NONLIVINGAPARTMENTS": "locaux non habitables",
    "NONLIVINGAREA": "surface non habitable",
    "TOTALAREA": "surface totale",
}
BUILDING_STATS = {"AVG": "moyenne", "MODE": "mode", "MEDI": "médiane"}
CATEGORIES = {  # the Kaggle tables' category values
    # application
    "Cash loans": "prêt personnel", "Revolving loans": "crédit renouvelable",
    "Consumer loans": "crédit à la consommation",
    "XNA": "non renseigné", "F": "femme", "M": "homme",
    "Unaccompanied": "seul", "Family": "famille", "Spouse, partner": "conjoint", "Children": "enfants",
    "Other_A": "autre (A)", "Other_B": "autre (B)", "Group of people": "groupe",
    "Working": "salarié", "Commercial associate": "commercial", "Pensioner": "retraité",
    "State servant": "fonctionnaire", "Unemployed": "sans emploi", "Student": "étudiant",
    "Businessman": "chef d'entreprise", "Maternity leave": "congé maternité",
    "Secondary / secondary special": "secondaires", "Higher education": "supérieures",
    "Incomplete higher": "supérieures inachevées", "Lower secondary": "collège", "Academic degree": "doctorat",
    "Married": "marié(e)", "Single / not married": "célibataire", "Civil marriage": "union libre",
    "Separated": "séparé(e)", "Widow": "veuf / veuve", "Unknown": "inconnue",
    "House / apartment": "maison / appartement", "With parents": "chez les parents",
    "Municipal apartment": "logement social", "Rented apartment": "location",
    "Office apartment": "logement de fonction",
    "Co-op apartment": "coopérative",
    "Laborers": "ouvrier", "Sales staff": "vente", "Core staff": "employé", "Managers": "cadre",
    "Drivers": "chauffeur", "High skill tech staff": "technicien qualifié", "Accountants": "comptable",
    "Medicine staff": "personnel médical", "Security staff": "sécurité", "Cooking staff": "cuisine",
    "Cleaning staff": "nettoyage", "Private service staff": "services à la personne",
    "Low-skill Laborers": "ouvrier non qualifié", "Waiters/barmen staff": "serveur / barman",
    "Secretaries": "secrétariat", "Realty agents": "agent immobilier", "HR staff": "ressources humaines",
    "IT staff": "informatique",
    "MONDAY": "lundi", "TUESDAY": "mardi", "WEDNESDAY": "mercredi", "THURSDAY": "jeudi", "FRIDAY": "vendredi",
    "SATURDAY": "samedi", "SUNDAY": "dimanche",
    "reg oper account": "compte d'exploitation", "reg oper spec account": "compte d'exploitation spécial",
    "not specified": "non précisé", "org spec account": "compte spécial",
    "block of flats": "immeuble collectif", "specific housing": "logement spécifique",
    "terraced house": "maison mitoyenne",
    "Panel": "panneaux", "Stone, brick": "pierre, brique", "Block": "parpaings", "Wooden": "bois",
    "Mixed": "mixte", "Monolithic": "monolithique", "Others": "autres", "No": "non", "Yes": "oui",
    # employers (ORGANIZATION_TYPE; "Industry: type 3" and the like are composed below)
    "Self-employed": "indépendant", "Other": "autre", "Medicine": "santé", "Government": "administration",
    "School": "école", "Kindergarten": "crèche", "Construction": "BTP", "Security": "sécurité",
    "Housing": "logement", "Military": "armée", "Bank": "banque", "Agriculture": "agriculture", "Police": "police",
    "Postal": "poste", "Security Ministries": "ministères régaliens", "Restaurant": "restauration",
    "Services": "services", "University": "université", "Hotel": "hôtellerie", "Electricity": "électricité",
    "Insurance": "assurance", "Telecom": "télécoms", "Emergency": "urgences", "Advertising": "publicité",
    "Realtor": "immobilier", "Culture": "culture", "Mobile": "téléphonie mobile", "Legal Services": "juridique",
    "Cleaning": "nettoyage", "Religion": "culte",
    # child tables
    "Closed": "clos", "Active": "actif", "Sold": "cédé", "Bad debt": "créance douteuse",
    "Consumer credit": "crédit à la consommation", "Credit card": "carte de crédit", "Car loan": "prêt auto",
    "Mortgage": "prêt immobilier", "Microloan": "microcrédit",
    "Loan for business development": "prêt professionnel (développement)",
    "Another type of loan": "autre prêt", "Unknown type of loan": "prêt de type inconnu",
    "Loan for working capital replenishment": "prêt de trésorerie",
    "Cash loan (non-earmarked)": "prêt personnel non affecté", "Real estate loan": "prêt immobilier (bien)",
    "Loan for the purchase of equipment": "prêt d'équipement",
    "Loan for purchase of shares (margin lending)": "prêt pour achat d'actions",
    "Mobile operator loan": "prêt d'opérateur mobile", "Interbank credit": "crédit interbancaire",
    "Approved": "accepté", "Refused": "refusé", "Canceled": "annulé", "Unused offer": "offre non utilisée",
    "Completed": "terminé", "Signed": "signé", "Demand": "à la demande", "Returned to the store": "retourné",
    "middle": "moyen", "high": "élevé", "low_normal": "bas", "low_action": "promotionnel",
    "Repeater": "déjà client", "New": "nouveau", "Refreshed": "réactivé",
}
_EMPLOYER_TYPES = {"Business Entity": "entreprise", "Industry": "industrie", "Trade": "commerce",
                   "Transport": "transport"}
_NUMBERED = re.compile(r"(?P<kind>.+?):? [Tt]ype (?P<n>\d+)")


def category(value: str) -> tuple[str, bool]:
    """French name of a category value, and whether it was translated."""
    if value in CATEGORIES:
        return CATEGORIES[value], True
    m = _NUMBERED.fullmatch(value)
    if m and m["kind"] in _EMPLOYER_TYPES:
        return f"{_EMPLOYER_TYPES[m['kind']]} (type {m['n']})", True
    return value, False


def _plain(column: str) -> str:
    return column.replace("_", " ").lower()


def composed_label(name: str) -> tuple[str, bool]:
    """The French label composed from the parts of `name`, and whether every part was translated.

    `PREV_REFUSED_AMT_CREDIT_mean` -> "Demandes refusées : montant du crédit (moyenne)";
    `NAME_FAMILY_STATUS_Married` -> "Situation familiale : marié(e)".
    """
    for prefix, source in SOURCES:
        if name.startswith(prefix):
            column, _, agg = name[len(prefix):].rpartition("_")
            if agg not in AGGREGATES:
                column, agg = name[len(prefix):], ""
            done = True
            if column in COLUMNS:
                what = COLUMNS[column]
            else:
                group = next((g for g in CHILD_GROUPS if column.startswith(g + "_")), None)
                if group is not None:
                    value, done = category(column[len(group) + 1:])
                    what = f"{CHILD_GROUPS[group]} {value}"
                    agg = "share" if agg == "mean" else agg
                else:
                    what, done = _plain(column), False
            agg_fr = {"share": "part", **AGGREGATES}.get(agg)
            return f"{source} : {what}" + (f" ({agg_fr})" if agg_fr else ""), done
    for group, label in APPLICATION_GROUPS.items():
        if name.startswith(group + "_"):
            value, done = category(name[len(group) + 1:])
            return f"{label} : {value}", done
    if name.startswith("FLAG_DOCUMENT_"):
        return f"Document n° {name.rsplit('_', 1)[1]} fourni", True
    column, _, stat = name.rpartition("_")
    if stat in BUILDING_STATS and column in BUILDING:
        return f"Immeuble : {BUILDING[column]} ({BUILDING_STATS[stat]})", True
    return _plain(name).capitalize(), False
