"""The French words the feature registry (`scoring.feature_registry`) composes labels from: the
aggregations, the one-hot groups of the application and child tables, the building statistics and
the Kaggle tables' category values. `category` also says whether a value was translated, so that a
test checks that no model feature is shown with English words.
"""

from __future__ import annotations

import re

AGGREGATES = {"mean": "moyenne", "max": "max.", "min": "min.", "sum": "total"}
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

