"""The Home Credit tables' schema: columns and their kinds, required and key columns, categories.

Each table has a declared column schema (`COLUMNS`): the kind of every column of the Kaggle file
(``int``, ``float`` or ``str``), as pandas reads the real files. `REQUIRED` lists the columns
without which a table cannot be used, `KEYS` the integer key columns, and `CATEGORIES` the real
categories of the categorical columns with their shares (the synthetic twin draws from them; the
features one-hot encode them). Loading (`scoring.data`) applies this schema.

Most of this module is literal tables, transcribed from the Kaggle files.
"""

from __future__ import annotations

import pandas as pd

from scoring.schema import (
    APPLICATION_TEST,
    APPLICATION_TRAIN,
    BUREAU,
    BUREAU_BALANCE,
    CREDIT_CARD,
    ID_COLUMN,
    INSTALMENTS,
    POS_CASH,
    PREVIOUS_APPLICATION,
    TARGET_COLUMN,
)

BUREAU_ID = "SK_ID_BUREAU"
PREV_ID = "SK_ID_PREV"

# Sentinel the Kaggle files use for "never" in DAYS_* columns (e.g. DAYS_EMPLOYED of pensioners).
DAYS_SENTINEL = 365243


def _kinds(int_cols: str = "", float_cols: str = "", str_cols: str = "", order: str = "") -> dict[str, str]:
    """Column -> kind, in the file's column order (`order`, whitespace separated)."""
    kind = {c: "int" for c in int_cols.split()} | {c: "float" for c in float_cols.split()}
    kind |= {c: "str" for c in str_cols.split()}
    names = order.split()
    missing = set(kind) ^ set(names)
    if missing:  # pragma: no cover - guards the literal tables below
        raise AssertionError(f"schema lists disagree on {sorted(missing)}")
    return {c: kind[c] for c in names}


_BUILDING = [
    f"{base}_{stat}"
    for stat in ("AVG", "MODE", "MEDI")
    for base in (
        "APARTMENTS", "BASEMENTAREA", "YEARS_BEGINEXPLUATATION", "YEARS_BUILD", "COMMONAREA", "ELEVATORS",
        "ENTRANCES", "FLOORSMAX", "FLOORSMIN", "LANDAREA", "LIVINGAPARTMENTS", "LIVINGAREA", "NONLIVINGAPARTMENTS",
        "NONLIVINGAREA",
    )
]
BUILDING_COLUMNS: tuple[str, ...] = tuple(_BUILDING)
DOCUMENT_FLAGS: tuple[str, ...] = tuple(f"FLAG_DOCUMENT_{i}" for i in range(2, 22))

_APPLICATION_ORDER = (
    "SK_ID_CURR TARGET NAME_CONTRACT_TYPE CODE_GENDER FLAG_OWN_CAR FLAG_OWN_REALTY CNT_CHILDREN "
    "AMT_INCOME_TOTAL AMT_CREDIT AMT_ANNUITY AMT_GOODS_PRICE NAME_TYPE_SUITE NAME_INCOME_TYPE "
    "NAME_EDUCATION_TYPE NAME_FAMILY_STATUS NAME_HOUSING_TYPE REGION_POPULATION_RELATIVE DAYS_BIRTH "
    "DAYS_EMPLOYED DAYS_REGISTRATION DAYS_ID_PUBLISH OWN_CAR_AGE FLAG_MOBIL FLAG_EMP_PHONE FLAG_WORK_PHONE "
    "FLAG_CONT_MOBILE FLAG_PHONE FLAG_EMAIL OCCUPATION_TYPE CNT_FAM_MEMBERS REGION_RATING_CLIENT "
    "REGION_RATING_CLIENT_W_CITY WEEKDAY_APPR_PROCESS_START HOUR_APPR_PROCESS_START REG_REGION_NOT_LIVE_REGION "
    "REG_REGION_NOT_WORK_REGION LIVE_REGION_NOT_WORK_REGION REG_CITY_NOT_LIVE_CITY REG_CITY_NOT_WORK_CITY "
    "LIVE_CITY_NOT_WORK_CITY ORGANIZATION_TYPE EXT_SOURCE_1 EXT_SOURCE_2 EXT_SOURCE_3 "
    + " ".join(_BUILDING)
    + " FONDKAPREMONT_MODE HOUSETYPE_MODE TOTALAREA_MODE WALLSMATERIAL_MODE EMERGENCYSTATE_MODE "
    "OBS_30_CNT_SOCIAL_CIRCLE DEF_30_CNT_SOCIAL_CIRCLE OBS_60_CNT_SOCIAL_CIRCLE DEF_60_CNT_SOCIAL_CIRCLE "
    "DAYS_LAST_PHONE_CHANGE " + " ".join(DOCUMENT_FLAGS) + " AMT_REQ_CREDIT_BUREAU_HOUR AMT_REQ_CREDIT_BUREAU_DAY "
    "AMT_REQ_CREDIT_BUREAU_WEEK AMT_REQ_CREDIT_BUREAU_MON AMT_REQ_CREDIT_BUREAU_QRT AMT_REQ_CREDIT_BUREAU_YEAR"
)

_APPLICATION = _kinds(
    int_cols="SK_ID_CURR TARGET CNT_CHILDREN DAYS_BIRTH DAYS_EMPLOYED DAYS_REGISTRATION DAYS_ID_PUBLISH "
    "FLAG_MOBIL FLAG_EMP_PHONE FLAG_WORK_PHONE FLAG_CONT_MOBILE FLAG_PHONE FLAG_EMAIL CNT_FAM_MEMBERS "
    "REGION_RATING_CLIENT REGION_RATING_CLIENT_W_CITY HOUR_APPR_PROCESS_START REG_REGION_NOT_LIVE_REGION "
    "REG_REGION_NOT_WORK_REGION LIVE_REGION_NOT_WORK_REGION REG_CITY_NOT_LIVE_CITY REG_CITY_NOT_WORK_CITY "
    "LIVE_CITY_NOT_WORK_CITY DAYS_LAST_PHONE_CHANGE " + " ".join(DOCUMENT_FLAGS),
    float_cols="AMT_INCOME_TOTAL AMT_CREDIT AMT_ANNUITY AMT_GOODS_PRICE REGION_POPULATION_RELATIVE OWN_CAR_AGE "
    "EXT_SOURCE_1 EXT_SOURCE_2 EXT_SOURCE_3 TOTALAREA_MODE OBS_30_CNT_SOCIAL_CIRCLE DEF_30_CNT_SOCIAL_CIRCLE "
    "OBS_60_CNT_SOCIAL_CIRCLE DEF_60_CNT_SOCIAL_CIRCLE AMT_REQ_CREDIT_BUREAU_HOUR AMT_REQ_CREDIT_BUREAU_DAY "
    "AMT_REQ_CREDIT_BUREAU_WEEK AMT_REQ_CREDIT_BUREAU_MON AMT_REQ_CREDIT_BUREAU_QRT AMT_REQ_CREDIT_BUREAU_YEAR "
    + " ".join(_BUILDING),
    str_cols="NAME_CONTRACT_TYPE CODE_GENDER FLAG_OWN_CAR FLAG_OWN_REALTY NAME_TYPE_SUITE NAME_INCOME_TYPE "
    "NAME_EDUCATION_TYPE NAME_FAMILY_STATUS NAME_HOUSING_TYPE OCCUPATION_TYPE WEEKDAY_APPR_PROCESS_START "
    "ORGANIZATION_TYPE FONDKAPREMONT_MODE HOUSETYPE_MODE WALLSMATERIAL_MODE EMERGENCYSTATE_MODE",
    order=_APPLICATION_ORDER,
)

COLUMNS: dict[str, dict[str, str]] = {
    APPLICATION_TRAIN: _APPLICATION,
    APPLICATION_TEST: {c: k for c, k in _APPLICATION.items() if c != TARGET_COLUMN},
    BUREAU: _kinds(
        int_cols="SK_ID_CURR SK_ID_BUREAU DAYS_CREDIT CREDIT_DAY_OVERDUE CNT_CREDIT_PROLONG DAYS_CREDIT_UPDATE",
        float_cols="DAYS_CREDIT_ENDDATE DAYS_ENDDATE_FACT AMT_CREDIT_MAX_OVERDUE AMT_CREDIT_SUM AMT_CREDIT_SUM_DEBT "
        "AMT_CREDIT_SUM_LIMIT AMT_CREDIT_SUM_OVERDUE AMT_ANNUITY",
        str_cols="CREDIT_ACTIVE CREDIT_CURRENCY CREDIT_TYPE",
        order="SK_ID_CURR SK_ID_BUREAU CREDIT_ACTIVE CREDIT_CURRENCY DAYS_CREDIT CREDIT_DAY_OVERDUE "
        "DAYS_CREDIT_ENDDATE DAYS_ENDDATE_FACT AMT_CREDIT_MAX_OVERDUE CNT_CREDIT_PROLONG AMT_CREDIT_SUM "
        "AMT_CREDIT_SUM_DEBT AMT_CREDIT_SUM_LIMIT AMT_CREDIT_SUM_OVERDUE CREDIT_TYPE DAYS_CREDIT_UPDATE AMT_ANNUITY",
    ),
    BUREAU_BALANCE: _kinds(
        int_cols="SK_ID_BUREAU MONTHS_BALANCE", str_cols="STATUS", order="SK_ID_BUREAU MONTHS_BALANCE STATUS"
    ),
    PREVIOUS_APPLICATION: _kinds(
        int_cols="SK_ID_PREV SK_ID_CURR HOUR_APPR_PROCESS_START NFLAG_LAST_APPL_IN_DAY DAYS_DECISION "
        "SELLERPLACE_AREA CNT_PAYMENT DAYS_FIRST_DRAWING DAYS_FIRST_DUE DAYS_LAST_DUE_1ST_VERSION DAYS_LAST_DUE "
        "DAYS_TERMINATION NFLAG_INSURED_ON_APPROVAL",
        float_cols="AMT_ANNUITY AMT_APPLICATION AMT_CREDIT AMT_DOWN_PAYMENT AMT_GOODS_PRICE RATE_DOWN_PAYMENT",
        str_cols="NAME_CONTRACT_TYPE WEEKDAY_APPR_PROCESS_START FLAG_LAST_APPL_PER_CONTRACT NAME_CASH_LOAN_PURPOSE "
        "NAME_CONTRACT_STATUS NAME_PAYMENT_TYPE CODE_REJECT_REASON NAME_TYPE_SUITE NAME_CLIENT_TYPE "
        "NAME_GOODS_CATEGORY NAME_PORTFOLIO NAME_PRODUCT_TYPE CHANNEL_TYPE NAME_SELLER_INDUSTRY NAME_YIELD_GROUP "
        "PRODUCT_COMBINATION",
        order="SK_ID_PREV SK_ID_CURR NAME_CONTRACT_TYPE AMT_ANNUITY AMT_APPLICATION AMT_CREDIT AMT_DOWN_PAYMENT "
        "AMT_GOODS_PRICE WEEKDAY_APPR_PROCESS_START HOUR_APPR_PROCESS_START FLAG_LAST_APPL_PER_CONTRACT "
        "NFLAG_LAST_APPL_IN_DAY RATE_DOWN_PAYMENT NAME_CASH_LOAN_PURPOSE NAME_CONTRACT_STATUS DAYS_DECISION "
        "NAME_PAYMENT_TYPE CODE_REJECT_REASON NAME_TYPE_SUITE NAME_CLIENT_TYPE NAME_GOODS_CATEGORY NAME_PORTFOLIO "
        "NAME_PRODUCT_TYPE CHANNEL_TYPE SELLERPLACE_AREA NAME_SELLER_INDUSTRY CNT_PAYMENT NAME_YIELD_GROUP "
        "PRODUCT_COMBINATION DAYS_FIRST_DRAWING DAYS_FIRST_DUE DAYS_LAST_DUE_1ST_VERSION DAYS_LAST_DUE "
        "DAYS_TERMINATION NFLAG_INSURED_ON_APPROVAL",
    ),
    POS_CASH: _kinds(
        int_cols="SK_ID_PREV SK_ID_CURR MONTHS_BALANCE SK_DPD SK_DPD_DEF",
        float_cols="CNT_INSTALMENT CNT_INSTALMENT_FUTURE",
        str_cols="NAME_CONTRACT_STATUS",
        order="SK_ID_PREV SK_ID_CURR MONTHS_BALANCE CNT_INSTALMENT CNT_INSTALMENT_FUTURE NAME_CONTRACT_STATUS "
        "SK_DPD SK_DPD_DEF",
    ),
    INSTALMENTS: _kinds(
        int_cols="SK_ID_PREV SK_ID_CURR NUM_INSTALMENT_VERSION NUM_INSTALMENT_NUMBER DAYS_INSTALMENT "
        "DAYS_ENTRY_PAYMENT",
        float_cols="AMT_INSTALMENT AMT_PAYMENT",
        order="SK_ID_PREV SK_ID_CURR NUM_INSTALMENT_VERSION NUM_INSTALMENT_NUMBER DAYS_INSTALMENT "
        "DAYS_ENTRY_PAYMENT AMT_INSTALMENT AMT_PAYMENT",
    ),
    CREDIT_CARD: _kinds(
        int_cols="SK_ID_PREV SK_ID_CURR MONTHS_BALANCE AMT_CREDIT_LIMIT_ACTUAL CNT_DRAWINGS_CURRENT SK_DPD SK_DPD_DEF",
        float_cols="AMT_BALANCE AMT_DRAWINGS_ATM_CURRENT AMT_DRAWINGS_CURRENT AMT_DRAWINGS_OTHER_CURRENT "
        "AMT_DRAWINGS_POS_CURRENT AMT_INST_MIN_REGULARITY AMT_PAYMENT_CURRENT AMT_PAYMENT_TOTAL_CURRENT "
        "AMT_RECEIVABLE_PRINCIPAL AMT_RECIVABLE AMT_TOTAL_RECEIVABLE CNT_DRAWINGS_ATM_CURRENT "
        "CNT_DRAWINGS_OTHER_CURRENT CNT_DRAWINGS_POS_CURRENT CNT_INSTALMENT_MATURE_CUM",
        str_cols="NAME_CONTRACT_STATUS",
        order="SK_ID_PREV SK_ID_CURR MONTHS_BALANCE AMT_BALANCE AMT_CREDIT_LIMIT_ACTUAL AMT_DRAWINGS_ATM_CURRENT "
        "AMT_DRAWINGS_CURRENT AMT_DRAWINGS_OTHER_CURRENT AMT_DRAWINGS_POS_CURRENT AMT_INST_MIN_REGULARITY "
        "AMT_PAYMENT_CURRENT AMT_PAYMENT_TOTAL_CURRENT AMT_RECEIVABLE_PRINCIPAL AMT_RECIVABLE AMT_TOTAL_RECEIVABLE "
        "CNT_DRAWINGS_ATM_CURRENT CNT_DRAWINGS_CURRENT CNT_DRAWINGS_OTHER_CURRENT CNT_DRAWINGS_POS_CURRENT "
        "CNT_INSTALMENT_MATURE_CUM NAME_CONTRACT_STATUS SK_DPD SK_DPD_DEF",
    ),
}

# Columns without which a table cannot be used (keys, and what its features cannot do without).
REQUIRED: dict[str, tuple[str, ...]] = {
    APPLICATION_TRAIN: (ID_COLUMN, TARGET_COLUMN),
    APPLICATION_TEST: (ID_COLUMN,),
    BUREAU: (ID_COLUMN, BUREAU_ID),
    BUREAU_BALANCE: (BUREAU_ID, "MONTHS_BALANCE", "STATUS"),
    PREVIOUS_APPLICATION: (PREV_ID, ID_COLUMN, "NAME_CONTRACT_STATUS"),
    POS_CASH: (PREV_ID, ID_COLUMN),
    INSTALMENTS: (PREV_ID, ID_COLUMN, "DAYS_INSTALMENT", "DAYS_ENTRY_PAYMENT", "AMT_INSTALMENT", "AMT_PAYMENT"),
    CREDIT_CARD: (PREV_ID, ID_COLUMN),
}

# Key columns: integer, never missing.
KEYS: dict[str, tuple[str, ...]] = {
    APPLICATION_TRAIN: (ID_COLUMN,),
    APPLICATION_TEST: (ID_COLUMN,),
    BUREAU: (ID_COLUMN, BUREAU_ID),
    BUREAU_BALANCE: (BUREAU_ID,),
    PREVIOUS_APPLICATION: (PREV_ID, ID_COLUMN),
    POS_CASH: (PREV_ID, ID_COLUMN),
    INSTALMENTS: (PREV_ID, ID_COLUMN),
    CREDIT_CARD: (PREV_ID, ID_COLUMN),
}

# The real categories of the categorical columns, with their share in the full Kaggle files
# (rounded). The synthetic twin draws from these shares; features one-hot encode these categories.
CATEGORIES: dict[str, dict[str, dict[str, float]]] = {
    APPLICATION_TRAIN: {
        "NAME_CONTRACT_TYPE": {"Cash loans": 0.905, "Revolving loans": 0.095},
        "CODE_GENDER": {"F": 0.6583, "M": 0.3416, "XNA": 0.0001},
        "FLAG_OWN_CAR": {"N": 0.66, "Y": 0.34},
        "FLAG_OWN_REALTY": {"Y": 0.694, "N": 0.306},
        "NAME_TYPE_SUITE": {
            "Unaccompanied": 0.812, "Family": 0.131, "Spouse, partner": 0.037, "Children": 0.011,
            "Other_B": 0.0058, "Other_A": 0.0028, "Group of people": 0.0009,
        },
        "NAME_INCOME_TYPE": {
            "Working": 0.5163, "Commercial associate": 0.2329, "Pensioner": 0.18, "State servant": 0.0706,
            "Unemployed": 0.00007, "Student": 0.00006, "Businessman": 0.00003, "Maternity leave": 0.00002,
        },
        "NAME_EDUCATION_TYPE": {
            "Secondary / secondary special": 0.7102, "Higher education": 0.2434, "Incomplete higher": 0.0334,
            "Lower secondary": 0.0124, "Academic degree": 0.0006,
        },
        "NAME_FAMILY_STATUS": {
            "Married": 0.639, "Single / not married": 0.1478, "Civil marriage": 0.0968, "Separated": 0.0643,
            "Widow": 0.0523, "Unknown": 0.00001,
        },
        "NAME_HOUSING_TYPE": {
            "House / apartment": 0.8873, "With parents": 0.0483, "Municipal apartment": 0.0364,
            "Rented apartment": 0.0159, "Office apartment": 0.0085, "Co-op apartment": 0.0036,
        },
        "OCCUPATION_TYPE": {
            "Laborers": 0.2552, "Sales staff": 0.1491, "Core staff": 0.1308, "Managers": 0.0996, "Drivers": 0.0885,
            "High skill tech staff": 0.0533, "Accountants": 0.0458, "Medicine staff": 0.0397,
            "Security staff": 0.0312, "Cooking staff": 0.0276, "Cleaning staff": 0.0215,
            "Private service staff": 0.0123, "Low-skill Laborers": 0.0097, "Waiters/barmen staff": 0.0064,
            "Secretaries": 0.006, "Realty agents": 0.0035, "HR staff": 0.0026, "IT staff": 0.0024,
        },
        "WEEKDAY_APPR_PROCESS_START": {
            "TUESDAY": 0.1753, "WEDNESDAY": 0.1689, "MONDAY": 0.1649, "THURSDAY": 0.1645, "FRIDAY": 0.1637,
            "SATURDAY": 0.1101, "SUNDAY": 0.0526,
        },
        "ORGANIZATION_TYPE": {
            "Business Entity Type 3": 0.2211, "XNA": 0.18, "Self-employed": 0.1249, "Other": 0.0543,
            "Medicine": 0.0364, "Business Entity Type 2": 0.0343, "Government": 0.0338, "School": 0.0289,
            "Trade: type 7": 0.0255, "Kindergarten": 0.0224, "Construction": 0.0218,
            "Business Entity Type 1": 0.0195, "Transport: type 4": 0.0176, "Trade: type 3": 0.0114,
            "Industry: type 9": 0.011, "Industry: type 3": 0.0107, "Security": 0.0106, "Housing": 0.0096,
            "Industry: type 11": 0.0088, "Military": 0.0086, "Bank": 0.0082, "Agriculture": 0.008,
            "Police": 0.0076, "Transport: type 2": 0.0072, "Postal": 0.007, "Security Ministries": 0.0064,
            "Trade: type 2": 0.0062, "Restaurant": 0.0059, "Services": 0.0051, "University": 0.0043,
            "Industry: type 7": 0.0043, "Transport: type 3": 0.0039, "Industry: type 1": 0.0034,
            "Hotel": 0.0031, "Electricity": 0.0031, "Industry: type 4": 0.0028, "Trade: type 6": 0.0021,
            "Industry: type 5": 0.0019, "Insurance": 0.0019, "Telecom": 0.0019, "Emergency": 0.0018,
            "Industry: type 2": 0.0015, "Advertising": 0.0014, "Realtor": 0.0013, "Culture": 0.0012,
            "Industry: type 12": 0.0012, "Trade: type 1": 0.0011, "Mobile": 0.001, "Legal Services": 0.001,
            "Cleaning": 0.0008, "Transport: type 1": 0.0007, "Industry: type 6": 0.0004,
            "Industry: type 10": 0.0004, "Religion": 0.0003, "Industry: type 13": 0.0002,
            "Trade: type 4": 0.0002, "Trade: type 5": 0.0002, "Industry: type 8": 0.0001,
        },
        "FONDKAPREMONT_MODE": {
            "reg oper account": 0.7488, "reg oper spec account": 0.1252, "not specified": 0.0598,
            "org spec account": 0.0582,
        },
        "HOUSETYPE_MODE": {"block of flats": 0.9826, "specific housing": 0.0093, "terraced house": 0.0081},
        "WALLSMATERIAL_MODE": {
            "Panel": 0.4225, "Stone, brick": 0.4117, "Block": 0.0589, "Wooden": 0.0343, "Mixed": 0.0147,
            "Monolithic": 0.0113, "Others": 0.0102,
        },
        "EMERGENCYSTATE_MODE": {"No": 0.9862, "Yes": 0.0138},
    },
    BUREAU: {
        "CREDIT_ACTIVE": {"Closed": 0.6288, "Active": 0.3674, "Sold": 0.0038, "Bad debt": 0.00001},
        "CREDIT_CURRENCY": {"currency 1": 0.9992, "currency 2": 0.0007, "currency 3": 0.0001, "currency 4": 0.00001},
        "CREDIT_TYPE": {
            "Consumer credit": 0.7292, "Credit card": 0.2344, "Car loan": 0.0162, "Mortgage": 0.0107,
            "Microloan": 0.0072, "Loan for business development": 0.0012, "Another type of loan": 0.0006,
            "Unknown type of loan": 0.0003, "Loan for working capital replenishment": 0.0003,
            "Cash loan (non-earmarked)": 0.00003, "Real estate loan": 0.00002,
            "Loan for the purchase of equipment": 0.00001, "Loan for purchase of shares (margin lending)": 0.000002,
            "Mobile operator loan": 0.000001, "Interbank credit": 0.000001,
        },
    },
    BUREAU_BALANCE: {
        "STATUS": {
            "C": 0.5, "0": 0.275, "X": 0.21, "1": 0.0089, "5": 0.0023, "2": 0.00085, "3": 0.0003, "4": 0.0002,
        },
    },
    PREVIOUS_APPLICATION: {
        "NAME_CONTRACT_TYPE": {
            "Cash loans": 0.4476, "Consumer loans": 0.4366, "Revolving loans": 0.1158, "XNA": 0.0002,
        },
        "NAME_CONTRACT_STATUS": {"Approved": 0.6207, "Canceled": 0.1894, "Refused": 0.1740, "Unused offer": 0.0158},
        "NAME_YIELD_GROUP": {
            "XNA": 0.3097, "middle": 0.2308, "high": 0.2113, "low_normal": 0.192, "low_action": 0.0561,
        },
        "NAME_CLIENT_TYPE": {"Repeater": 0.7372, "New": 0.1804, "Refreshed": 0.0812, "XNA": 0.0012},
        "NAME_PORTFOLIO": {"POS": 0.4137, "Cash": 0.2776, "XNA": 0.2229, "Cards": 0.0858, "Cars": 0.0003},
        "NAME_PRODUCT_TYPE": {"XNA": 0.6368, "x-sell": 0.2738, "walk-in": 0.0894},
        "CODE_REJECT_REASON": {
            "XAP": 0.8103, "HC": 0.1049, "LIMIT": 0.0334, "SCO": 0.0224, "CLIENT": 0.0158, "SCOFR": 0.0077,
            "XNA": 0.0031, "VERIF": 0.0021, "SYSTEM": 0.0004,
        },
        "NAME_PAYMENT_TYPE": {
            "Cash through the bank": 0.6188, "XNA": 0.3756, "Non-cash from your account": 0.0049,
            "Cashless from the account of the employer": 0.0007,
        },
        "NAME_TYPE_SUITE": {
            "Unaccompanied": 0.595, "Family": 0.2493, "Spouse, partner": 0.0788, "Children": 0.0373,
            "Other_B": 0.0207, "Other_A": 0.0106, "Group of people": 0.0027,
        },
        "CHANNEL_TYPE": {
            "Credit and cash offices": 0.4306, "Country-wide": 0.2968, "Stone": 0.1271, "Regional / Local": 0.065,
            "Contact center": 0.0427, "AP+ (Cash loan)": 0.0342, "Channel of corporate sales": 0.0037,
            "Car dealer": 0.0003,
        },
        "NAME_SELLER_INDUSTRY": {
            "XNA": 0.5129, "Consumer electronics": 0.2384, "Connectivity": 0.1655, "Furniture": 0.0346,
            "Construction": 0.0178, "Clothing": 0.0143, "Industry": 0.0114, "Auto technology": 0.003,
            "Jewelry": 0.0016, "MLM partners": 0.0007, "Tourism": 0.0003,
        },
        "NAME_GOODS_CATEGORY": {
            "XNA": 0.5693, "Mobile": 0.1343, "Consumer Electronics": 0.0728, "Computers": 0.0633,
            "Audio/Video": 0.0597, "Furniture": 0.0322, "Photo / Cinema Equipment": 0.0151,
            "Construction Materials": 0.0149, "Clothing and Accessories": 0.0141, "Auto Accessories": 0.0044,
            "Jewelry": 0.0038, "Homewares": 0.003, "Medical Supplies": 0.0023, "Vehicles": 0.002,
            "Sport and Leisure": 0.0018, "Gardening": 0.0016, "Other": 0.0015, "Office Appliances": 0.0014,
            "Tourism": 0.001, "Medicine": 0.001, "Direct Sales": 0.0003, "Fitness": 0.0001,
            "Additional Service": 0.0001, "Education": 0.0001, "Weapon": 0.0001, "Insurance": 0.00004,
            "House Construction": 0.000001, "Animals": 0.000001,
        },
        "NAME_CASH_LOAN_PURPOSE": {
            "XAP": 0.5524, "XNA": 0.4059, "Repairs": 0.0142, "Other": 0.0093, "Urgent needs": 0.005,
            "Buying a used car": 0.0017, "Building a house or an annex": 0.0016, "Everyday expenses": 0.0014,
            "Medicine": 0.0013, "Payments on other loans": 0.0011, "Education": 0.0009, "Journey": 0.0007,
            "Purchase of electronic equipment": 0.0006, "Buying a new car": 0.0006, "Wedding / gift / holiday": 0.0006,
            "Buying a home": 0.0005, "Car repairs": 0.0005, "Furniture": 0.0004, "Buying a holiday home / land": 0.0003,
            "Business development": 0.0003, "Gasification / water supply": 0.0002, "Buying a garage": 0.0001,
            "Hobby": 0.00003, "Money for a third person": 0.00001, "Refusal to name the goal": 0.00001,
        },
        "PRODUCT_COMBINATION": {
            "Cash": 0.1711, "POS household with interest": 0.1578, "POS mobile with interest": 0.1322,
            "Cash X-Sell: middle": 0.0862, "Cash X-Sell: low": 0.078, "Card Street": 0.0675,
            "POS industry with interest": 0.0592, "POS household without interest": 0.0497, "Card X-Sell": 0.0481,
            "Cash Street: high": 0.0357, "Cash X-Sell: high": 0.0355, "Cash Street: middle": 0.0208,
            "Cash Street: low": 0.0202, "POS mobile without interest": 0.0145, "POS other with interest": 0.0143,
            "POS industry without interest": 0.0075, "POS others without interest": 0.0015,
        },
    },
    POS_CASH: {
        "NAME_CONTRACT_STATUS": {
            "Active": 0.9149, "Completed": 0.0745, "Signed": 0.0087, "Demand": 0.0007, "Returned to the store": 0.0005,
            "Approved": 0.0005, "Amortized debt": 0.0002, "Canceled": 0.000002, "XNA": 0.0000002,
        },
    },
    CREDIT_CARD: {
        "NAME_CONTRACT_STATUS": {
            "Active": 0.9633, "Completed": 0.0336, "Signed": 0.0029, "Demand": 0.0001, "Sent proposal": 0.0001,
            "Refused": 0.000005, "Approved": 0.000001,
        },
    },
}
CATEGORIES[APPLICATION_TEST] = CATEGORIES[APPLICATION_TRAIN]


def table_file_name(name: str) -> str:
    """Kaggle CSV file name of a table, e.g. ``bureau.csv``."""
    return f"{name}.csv"


def empty_table(name: str) -> pd.DataFrame:
    """A table with no rows and the declared columns and dtypes (used for absent optional tables)."""
    return pd.DataFrame({col: pd.Series(dtype=_DTYPES[kind]) for col, kind in COLUMNS[name].items()})


_DTYPES = {"int": "int64", "float": "float64", "str": "str"}
