"""A synthetic twin of the seven Home Credit tables, with a known default probability.

Same file names, columns and dtypes as the Kaggle files (`scoring.data.COLUMNS`), marginals close
to the real ones (ranges, skew, share of NaN, the ``DAYS_EMPLOYED = 365243`` sentinel of
pensioners, ``CODE_GENDER = XNA``, the real categories and their shares), consistent keys
(``SK_ID_CURR`` -> ``SK_ID_BUREAU`` / ``SK_ID_PREV``) and child rows per applicant in the real
proportions (~5.6 bureau credits, ~5.4 previous applications, ~33 POS months, ~44 instalments and
~12 card months per applicant; not everyone has every table).

``TARGET`` is drawn from `risk_probability`, a logistic function of *engineered features*
(names of `scoring.features`): external scores, age, employment, credit / annuity / income
ratios, overdue amounts at other lenders, card ATM drawings, late instalments, the share of
refused previous applications... Because it is a function of what the model sees, the AUC of the
true probabilities (``oracle_auc``) is the ceiling a model can reach on the twin.

Everything is vectorised numpy (no per-applicant loop), so the full Kaggle size (307,511
applicants, ~40M child rows) works; deterministic for a seed.

CLI: ``python -m scoring.synthetic --out DIR [--applicants N] [--seed S] [--test-applicants M]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import special

from scoring import config
from scoring.data import (
    BUILDING_COLUMNS,
    CATEGORIES,
    COLUMNS,
    DAYS_SENTINEL,
    DOCUMENT_FLAGS,
    FIELD_OF_TABLE,
    Tables,
    table_file_name,
)
from scoring.schema import (
    APPLICATION_TEST,
    APPLICATION_TRAIN,
    BUREAU,
    CREDIT_CARD,
    ID_COLUMN,
    INSTALMENTS,
    POS_CASH,
    PREVIOUS_APPLICATION,
    TARGET_COLUMN,
)
from scoring.twin_marginals import QUANTILES

FIRST_ID_CURR = 100002
FIRST_ID_BUREAU = 5000000
FIRST_ID_PREV = 1000000
DEFAULT_TEST_APPLICANTS = 200

# --- The known risk function ----------------------------------------------------------------

# Intercept of the logit, set once so that about 8 % of applicants default.
RISK_INTERCEPT = -4.02
RISK_FEATURES: tuple[str, ...] = (
    "EXT_SOURCE_1",
    "EXT_SOURCE_2",
    "EXT_SOURCE_3",
    "DAYS_BIRTH",
    "DAYS_EMPLOYED",
    "CREDIT_INCOME_PERC",
    "ANNUITY_INCOME_PERC",
    "PAYMENT_RATE",
    "CODE_GENDER_M",
    "NAME_EDUCATION_TYPE_Higher education",
    "NAME_INCOME_TYPE_Working",
    "FLAG_DOCUMENT_3",
    "BUREAU_AMT_CREDIT_SUM_OVERDUE_max",
    "CRECARD_CNT_DRAWINGS_ATM_CURRENT_mean",
    "INSTAL_DPD_mean",
    "PREV_NAME_CONTRACT_STATUS_Refused_mean",
)


def risk_logit(features: pd.DataFrame) -> np.ndarray:
    """The twin's true log-odds of default, from engineered features (missing -> no contribution).

    Additive and monotone in each input, so trees can learn it: lower external scores, youth,
    short employment, heavy credit / annuity burden, overdue debt elsewhere, frequent cash
    withdrawals on a card, late instalments and refused applications all raise the risk.
    """

    def x(name: str) -> np.ndarray:
        return features[name].to_numpy(dtype="float64", na_value=np.nan)

    def term(values: np.ndarray) -> np.ndarray:
        return np.nan_to_num(values, nan=0.0)

    age = -x("DAYS_BIRTH") / 365.25
    years_employed = np.clip(-x("DAYS_EMPLOYED") / 365.25, 0, None)  # sentinel already NaN
    logit = np.full(len(features), RISK_INTERCEPT)
    logit += term(-2.6 * (x("EXT_SOURCE_1") - 0.5))
    logit += term(-3.2 * (x("EXT_SOURCE_2") - 0.55))
    logit += term(-3.4 * (x("EXT_SOURCE_3") - 0.5))
    logit += term(0.022 * (43.0 - np.clip(age, 20, 70)))
    logit += term(-0.32 * (np.log1p(years_employed) - 1.6))
    logit += term(0.07 * (np.clip(x("CREDIT_INCOME_PERC"), 0, 12) - 3.5))
    logit += term(2.2 * (np.clip(x("ANNUITY_INCOME_PERC"), 0, 0.6) - 0.18))
    logit += term(-8.0 * (np.clip(x("PAYMENT_RATE"), 0.02, 0.13) - 0.055))
    logit += term(0.3 * x("CODE_GENDER_M"))
    logit += term(-0.35 * x("NAME_EDUCATION_TYPE_Higher education"))
    logit += term(0.15 * x("NAME_INCOME_TYPE_Working"))
    logit += term(0.15 * x("FLAG_DOCUMENT_3"))
    logit += term(0.16 * np.log1p(np.clip(x("BUREAU_AMT_CREDIT_SUM_OVERDUE_max"), 0, None)))
    logit += term(0.45 * np.clip(x("CRECARD_CNT_DRAWINGS_ATM_CURRENT_mean"), 0, 6))
    logit += term(0.16 * np.clip(x("INSTAL_DPD_mean"), 0, 20))
    logit += term(1.3 * x("PREV_NAME_CONTRACT_STATUS_Refused_mean"))
    return logit


def risk_probability(features: pd.DataFrame) -> np.ndarray:
    """The twin's true default probability (sigmoid of `risk_logit`)."""
    return 1.0 / (1.0 + np.exp(-risk_logit(features)))


# --- Helpers --------------------------------------------------------------------------------


def _codes(rng: np.random.Generator, shares: dict[str, float] | list[float], n: int) -> np.ndarray:
    """Category codes drawn with the given shares (normalised)."""
    p = np.asarray(list(shares.values()) if isinstance(shares, dict) else shares, dtype="float64")
    cum = np.cumsum(p / p.sum())
    cum[-1] = 1.0
    return np.searchsorted(cum, rng.random(n), side="right").astype("int64")


def _strings(categories: list[str] | tuple[str, ...], codes: np.ndarray) -> pd.Series:
    """A pandas ``str`` column from codes (-1 -> missing); built in Arrow, 15x faster than from a Categorical."""
    codes = np.asarray(codes, dtype="int64")
    if codes.size and codes.max() >= len(categories):
        raise ValueError(f"code {codes.max()} out of range for {len(categories)} categories")
    values = pa.array(list(categories), type=pa.string()).take(pa.array(codes, mask=codes < 0))
    return pd.Series(values, dtype="str")


def _cats(table: str, column: str) -> list[str]:
    return list(CATEGORIES[table][column])


def _draw(rng: np.random.Generator, table: str, column: str, n: int) -> np.ndarray:
    return _codes(rng, CATEGORIES[table][column], n)


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For children counted per parent: the parent index of each child row and its rank (0, 1, ...)."""
    counts = counts.astype("int64")
    parent = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(parent.size) - np.repeat(starts, counts)
    return parent, rank


def _nan_mask(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    values = values.astype("float64")
    values[rng.random(values.size) < share] = np.nan
    return values


def _round_to(values: np.ndarray, step: float) -> np.ndarray:
    return np.round(values / step) * step


def _group_mean(parent: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Mean per parent skipping NaN; NaN for parents without a value."""
    ok = ~np.isnan(values)
    total = np.bincount(parent[ok], weights=values[ok], minlength=n)
    count = np.bincount(parent[ok], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _group_max(parent: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf)
    ok = ~np.isnan(values)
    np.maximum.at(out, parent[ok], values[ok])
    out[np.isneginf(out)] = np.nan
    return out


def map_to_quantiles(values: np.ndarray, quantiles: list[float]) -> np.ndarray:
    """Rank-preserving map of the present values onto a quantile table (missing stay missing)."""
    out = np.array(values, dtype=float)
    present = ~np.isnan(out)
    n = int(present.sum())
    if n:
        ranks = np.argsort(np.argsort(out[present], kind="stable"), kind="stable")
        table = np.asarray(quantiles)
        out[present] = table[np.minimum((ranks + 0.5) / n * table.size, table.size - 1).astype(int)]
    return out


def _frame(name: str, data: dict[str, np.ndarray | pd.Series]) -> pd.DataFrame:
    """A table in the Kaggle column order and declared dtypes."""
    out = {}
    for col, kind in COLUMNS[name].items():
        values = data[col]
        if kind == "str":
            series = values if isinstance(values, pd.Series) else pd.Series(values, dtype="str")
            out[col] = series.reset_index(drop=True)
        elif kind == "int":
            out[col] = np.asarray(values).astype("int64")
        else:
            out[col] = np.asarray(values, dtype="float64")
    return pd.DataFrame(out)


# --- Applicants -----------------------------------------------------------------------------


@dataclass
class _Applicants:
    table: pd.DataFrame
    fragility: np.ndarray  # latent: high = financially fragile (drives child-table behaviour)


def _applicants(rng: np.random.Generator, n: int, first_id: int) -> _Applicants:
    A = APPLICATION_TRAIN
    cat = CATEGORIES[A]
    g = rng.standard_normal(n)  # creditworthiness
    fragility = -g
    d: dict[str, np.ndarray | pd.Series] = {ID_COLUMN: first_id + np.arange(n)}

    # Age, income type, employment (pensioners carry the DAYS_EMPLOYED sentinel).
    age = 20.1 + 48.8 * rng.beta(1.5, 1.75, n)
    d["DAYS_BIRTH"] = -np.round(age * 365.25).astype("int64")
    income_types = _cats(A, "NAME_INCOME_TYPE")
    pensioner_p = 0.93 / (1 + np.exp(-(age - 57.0) / 2.2)) + 0.015
    non_pension = dict(cat["NAME_INCOME_TYPE"])
    non_pension.pop("Pensioner")
    income_code = np.where(
        rng.random(n) < pensioner_p,
        income_types.index("Pensioner"),
        np.array([income_types.index(k) for k in non_pension])[_codes(rng, non_pension, n)],
    )
    unemployed = income_code == income_types.index("Unemployed")
    no_job = (income_code == income_types.index("Pensioner")) | unemployed
    years_employed = np.minimum(np.exp(rng.normal(np.log(4.6), 0.95, n)), age - 18.0)
    days_employed = -np.maximum(np.round(years_employed * 365.25), 0).astype("int64")
    d["DAYS_EMPLOYED"] = np.where(no_job, DAYS_SENTINEL, days_employed)
    d["NAME_INCOME_TYPE"] = _strings(income_types, income_code)
    d["FLAG_EMP_PHONE"] = (~no_job).astype("int64")

    org_types = _cats(A, "ORGANIZATION_TYPE")
    org_shares = dict(cat["ORGANIZATION_TYPE"])
    org_shares.pop("XNA")
    org_code = np.array([org_types.index(k) for k in org_shares])[_codes(rng, org_shares, n)]
    d["ORGANIZATION_TYPE"] = _strings(org_types, np.where(no_job, org_types.index("XNA"), org_code))
    occupation = _draw(rng, A, "OCCUPATION_TYPE", n)
    occupation[no_job | (rng.random(n) < 0.15)] = -1
    d["OCCUPATION_TYPE"] = _strings(_cats(A, "OCCUPATION_TYPE"), occupation)

    # Gender: XNA is very rare in the real data (4 in 307,511); from 100 applicants on, keep at least
    # one so that the quirk is always there to be handled.
    gender = _draw(rng, A, "CODE_GENDER", n)
    xna = _cats(A, "CODE_GENDER").index("XNA")
    gender[gender == xna] = 0
    gender[rng.choice(n, size=max(int(n >= 100), round(n * 1.3e-5)), replace=False)] = xna
    d["CODE_GENDER"] = _strings(_cats(A, "CODE_GENDER"), gender)

    # Education by rank of a latent correlated with g: exact shares, better-off applicants study longer.
    levels = ["Lower secondary", "Secondary / secondary special", "Incomplete higher", "Higher education",
              "Academic degree"]
    level_shares = np.array([cat["NAME_EDUCATION_TYPE"][k] for k in levels])
    rank = np.argsort(np.argsort(0.45 * g + rng.standard_normal(n))) / n
    level = np.searchsorted(np.cumsum(level_shares / level_shares.sum()), rank, side="right").clip(0, 4)
    education = np.array([_cats(A, "NAME_EDUCATION_TYPE").index(k) for k in levels])[level]
    d["NAME_EDUCATION_TYPE"] = _strings(_cats(A, "NAME_EDUCATION_TYPE"), education)

    contract = _draw(rng, A, "NAME_CONTRACT_TYPE", n)
    revolving = contract == 1
    d["NAME_CONTRACT_TYPE"] = _strings(_cats(A, "NAME_CONTRACT_TYPE"), contract)
    own_car = rng.random(n) < 0.34 + 0.08 * (gender == 1)
    d["FLAG_OWN_CAR"] = _strings(["N", "Y"], own_car.astype("int64"))
    d["FLAG_OWN_REALTY"] = _strings(["N", "Y"], (rng.random(n) < 0.694).astype("int64"))
    children = _codes(rng, [0.700, 0.199, 0.087, 0.012, 0.0014, 0.0004], n)
    d["CNT_CHILDREN"] = children
    family = _draw(rng, A, "NAME_FAMILY_STATUS", n)
    d["NAME_FAMILY_STATUS"] = _strings(_cats(A, "NAME_FAMILY_STATUS"), family)
    couple = np.isin(family, [0, 2])
    d["CNT_FAM_MEMBERS"] = children + 1 + couple

    # Money: income, credit, annuity, goods price (rounded like the real amounts).
    higher = education == 1
    income = np.exp(rng.normal(np.log(132_000), 0.47, n) + 0.22 * higher + 0.08 * g)
    d["AMT_INCOME_TOTAL"] = np.maximum(_round_to(income, 2250.0), 25650.0)
    credit_cash = np.exp(rng.normal(np.log(480_000), 0.55, n) + 0.5 * (np.log(income) - np.log(140_000)))
    credit_cash = np.clip(_round_to(credit_cash, 0.5), 45_000, 4_050_000)
    credit_rev = _round_to(np.clip(np.exp(rng.normal(np.log(270_000), 0.45, n)), 45_000, 1_350_000), 22_500)
    credit = np.where(revolving, credit_rev, credit_cash)
    # larger credits run longer: the yearly payment rate falls with the amount
    log_rate = rng.normal(np.log(0.05), 0.24, n) - 0.22 * (np.log(credit_cash) - np.log(500_000))
    payment_rate = np.clip(np.exp(log_rate), 0.0225, 0.124)
    payment_rate = np.where(revolving, 0.05, payment_rate)
    d["AMT_CREDIT"] = credit
    d["AMT_ANNUITY"] = _nan_mask(rng, np.round(credit * payment_rate * 2) / 2, 4e-5)
    goods = _round_to(credit / rng.uniform(1.0, 1.22, n), 4500.0)
    goods = np.where(revolving, credit, np.maximum(goods, 40_500.0))
    goods[revolving & (rng.random(n) < 0.01)] = np.nan
    d["AMT_GOODS_PRICE"] = goods

    suite = _draw(rng, A, "NAME_TYPE_SUITE", n)
    suite[rng.random(n) < 0.0042] = -1
    d["NAME_TYPE_SUITE"] = _strings(_cats(A, "NAME_TYPE_SUITE"), suite)
    d["NAME_HOUSING_TYPE"] = _strings(_cats(A, "NAME_HOUSING_TYPE"), _draw(rng, A, "NAME_HOUSING_TYPE", n))

    # Region: a few dozen population densities; denser regions have better ratings.
    regions = np.round(np.sort(np.exp(rng.normal(np.log(0.018), 0.75, 81)).clip(0.00029, 0.072508)), 6)
    region = _codes(rng, 1.0 / (1 + np.arange(81) % 17), n)
    population = regions[region]
    d["REGION_POPULATION_RELATIVE"] = population
    rating = np.where((population > 0.028) & (rng.random(n) < 0.8), 1, 2)
    rating = rating + (rng.random(n) < np.where(population < 0.01, 0.5, 0.05))
    rating = np.clip(rating - (rng.random(n) < 0.03), 1, 3)
    d["REGION_RATING_CLIENT"] = rating
    d["REGION_RATING_CLIENT_W_CITY"] = np.clip(rating - (rng.random(n) < 0.04) + (rng.random(n) < 0.02), 1, 3)

    d["DAYS_REGISTRATION"] = -np.round(rng.beta(1.6, 1.8, n) * (age - 16.0) * 365.25).astype("int64")
    d["DAYS_ID_PUBLISH"] = -np.round(np.minimum(rng.beta(1.6, 1.1, n) * 5200, (age - 14) * 365.25)).astype("int64")
    car_age = np.minimum(np.round(rng.gamma(1.9, 6.2, n)), 65.0)
    car_age[rng.random(n) < 0.004] = 64.0
    d["OWN_CAR_AGE"] = np.where(own_car, car_age, np.nan)
    d["FLAG_MOBIL"] = np.ones(n, dtype="int64")
    d["FLAG_WORK_PHONE"] = (rng.random(n) < 0.2 * (~no_job) + 0.02).astype("int64")
    d["FLAG_CONT_MOBILE"] = (rng.random(n) < 0.998).astype("int64")
    d["FLAG_PHONE"] = (rng.random(n) < 0.28).astype("int64")
    d["FLAG_EMAIL"] = (rng.random(n) < 0.057).astype("int64")
    d["WEEKDAY_APPR_PROCESS_START"] = _strings(
        _cats(A, "WEEKDAY_APPR_PROCESS_START"), _draw(rng, A, "WEEKDAY_APPR_PROCESS_START", n)
    )
    d["HOUR_APPR_PROCESS_START"] = np.clip(np.round(rng.normal(12.06, 3.27, n)), 0, 23)
    for col, share in (
        ("REG_REGION_NOT_LIVE_REGION", 0.015),
        ("REG_REGION_NOT_WORK_REGION", 0.051),
        ("LIVE_REGION_NOT_WORK_REGION", 0.041),
        ("REG_CITY_NOT_LIVE_CITY", 0.078),
        ("REG_CITY_NOT_WORK_CITY", 0.23),
        ("LIVE_CITY_NOT_WORK_CITY", 0.18),
    ):
        d[col] = (rng.random(n) < share * (~no_job) * 1.2).astype("int64")

    # External scores: skewed, correlated with creditworthiness, often missing (1 and 3).
    # Gaussian copula: a latent correlated with g, mapped to the score's (scaled beta) marginal.
    def ext(rho: float, a: float, b: float, scale: float, nan_share: float) -> np.ndarray:
        u = rho * g + np.sqrt(1 - rho**2) * rng.standard_normal(n)
        score = scale * special.betaincinv(a, b, special.ndtr(u))
        return _nan_mask(rng, np.round(np.clip(score, 1e-4, 0.963), 6), nan_share)

    d["EXT_SOURCE_1"] = ext(0.55, 2.22, 2.06, 0.97, 0.564)
    d["EXT_SOURCE_2"] = ext(0.6, 2.29, 1.53, 0.855, 0.0021)
    d["EXT_SOURCE_3"] = ext(0.55, 2.39, 1.83, 0.9, 0.198)

    # Building statistics: present for about half the applicants, skewed in [0, 1].
    has_building = rng.random(n) < 0.53
    size = rng.standard_normal(n)
    building_medians = {
        "APARTMENTS": 0.0876, "BASEMENTAREA": 0.0763, "YEARS_BEGINEXPLUATATION": 0.9816, "YEARS_BUILD": 0.7552,
        "COMMONAREA": 0.0211, "ELEVATORS": 0.0, "ENTRANCES": 0.1379, "FLOORSMAX": 0.1667, "FLOORSMIN": 0.2083,
        "LANDAREA": 0.0481, "LIVINGAPARTMENTS": 0.0756, "LIVINGAREA": 0.0745, "NONLIVINGAPARTMENTS": 0.0,
        "NONLIVINGAREA": 0.0036,
    }
    extra_nan = {
        "BASEMENTAREA": 0.12, "YEARS_BUILD": 0.3, "COMMONAREA": 0.37, "ELEVATORS": 0.05, "FLOORSMIN": 0.33,
        "LANDAREA": 0.12, "LIVINGAPARTMENTS": 0.34, "NONLIVINGAPARTMENTS": 0.36, "NONLIVINGAREA": 0.07,
    }
    spread = {"NONLIVINGAREA": 2.2, "LANDAREA": 0.88, "COMMONAREA": 1.2, "BASEMENTAREA": 0.7}
    zero_share = {"BASEMENTAREA": 0.1, "LANDAREA": 0.12, "NONLIVINGAREA": 0.25, "LIVINGAREA": 0.02}
    for base, median in building_medians.items():
        u = 0.7 * size + 0.71 * rng.standard_normal(n)
        if base == "YEARS_BEGINEXPLUATATION":
            values = 1 - 0.0184 * np.exp(0.45 * u)
        elif base == "YEARS_BUILD":
            values = 1 / (1 + np.exp(-(1.12 + 0.55 * u)))
        elif base in ("ENTRANCES", "FLOORSMAX", "FLOORSMIN"):
            values = np.round(median * np.exp(0.5 * u) * 24) / 24
        elif base == "ELEVATORS":
            values = np.where(u > 0.0, np.round(0.08 * np.exp(0.9 * u) / 0.04) * 0.04, 0.0)
        elif median == 0.0:
            values = np.where(u > 0.9, 0.01 * np.exp(0.8 * u), 0.0)
        else:
            values = median * np.exp(spread.get(base, 0.78) * u)
            values[rng.random(n) < zero_share.get(base, 0.0)] = 0.0
        values = np.round(np.clip(values, 0, 1), 4)
        present = has_building & (rng.random(n) >= extra_nan.get(base, 0.0))
        avg = np.where(present, values, np.nan)
        d[f"{base}_AVG"] = avg
        d[f"{base}_MODE"] = np.round(np.clip(avg * rng.normal(1.0, 0.03, n), 0, 1), 4)
        d[f"{base}_MEDI"] = np.round(np.clip(avg * rng.normal(1.0, 0.01, n), 0, 1), 4)
    assert all(c in d for c in BUILDING_COLUMNS)
    total_area = np.clip(np.round(0.069 * np.exp(0.8 * size), 4), 0, 1)
    d["TOTALAREA_MODE"] = np.where(has_building | (rng.random(n) < 0.03), total_area, np.nan)
    for col, nan_share in (
        ("FONDKAPREMONT_MODE", 0.4),
        ("HOUSETYPE_MODE", 0.0),
        ("WALLSMATERIAL_MODE", 0.02),
        ("EMERGENCYSTATE_MODE", 0.0),
    ):
        codes = _draw(rng, A, col, n)
        codes[~has_building | (rng.random(n) < nan_share)] = -1
        d[col] = _strings(_cats(A, col), codes)

    obs = _nan_mask(rng, rng.negative_binomial(0.45, 0.45 / (0.45 + 1.42), n).astype("float64"), 0.0033)
    d["OBS_30_CNT_SOCIAL_CIRCLE"] = obs
    d["OBS_60_CNT_SOCIAL_CIRCLE"] = obs - (rng.random(n) < 0.02) * (obs > 0)
    default_30 = np.minimum(rng.binomial(np.nan_to_num(obs).astype("int64"), 0.1), np.nan_to_num(obs))
    d["DEF_30_CNT_SOCIAL_CIRCLE"] = np.where(np.isnan(obs), np.nan, default_30)
    default_60 = default_30 - (rng.random(n) < 0.25) * (default_30 > 0)
    d["DEF_60_CNT_SOCIAL_CIRCLE"] = np.where(np.isnan(obs), np.nan, default_60)
    phone = -np.round(rng.gamma(1.3, 800, n)).clip(0, 4292)
    phone[rng.random(n) < 0.12] = 0
    d["DAYS_LAST_PHONE_CHANGE"] = phone

    documents = [0.00004, 0.71, 0.00008, 0.0151, 0.088, 0.0002, 0.0814, 0.0039, 0.00002, 0.0039, 0.00001,
                 0.0035, 0.0029, 0.0012, 0.0099, 0.0003, 0.0081, 0.0006, 0.0005, 0.0003]
    document = _codes(rng, documents + [1 - sum(documents)], n)
    for i, col in enumerate(DOCUMENT_FLAGS):
        d[col] = (document == i).astype("int64")

    requests_missing = rng.random(n) < 0.135
    for col, mean, r in (
        ("AMT_REQ_CREDIT_BUREAU_HOUR", 0.0064, 0.05), ("AMT_REQ_CREDIT_BUREAU_DAY", 0.007, 0.05),
        ("AMT_REQ_CREDIT_BUREAU_WEEK", 0.034, 0.1), ("AMT_REQ_CREDIT_BUREAU_MON", 0.27, 0.15),
        ("AMT_REQ_CREDIT_BUREAU_QRT", 0.27, 0.3), ("AMT_REQ_CREDIT_BUREAU_YEAR", 1.9, 1.3),
    ):
        d[col] = np.where(requests_missing, np.nan, rng.negative_binomial(r, r / (r + mean), n))

    # Columns whose simulated shape missed the real one (heaped amounts, one density per region,
    # building scores on a few values): their values are mapped, rank for rank, onto real quantiles.
    for col, quantiles in QUANTILES.items():
        d[col] = map_to_quantiles(np.asarray(d[col], dtype=float), quantiles)

    d[TARGET_COLUMN] = np.zeros(n, dtype="int64")  # drawn once the child tables are known
    return _Applicants(table=_frame(A, d), fragility=fragility)


# --- Child tables ---------------------------------------------------------------------------


def _behaviour(rng: np.random.Generator, fragility: np.ndarray, weight: float = 0.75) -> np.ndarray:
    """A per-applicant propensity correlated with fragility."""
    return weight * fragility + np.sqrt(1 - weight**2) * rng.standard_normal(fragility.size)


def _bureau(rng: np.random.Generator, fragility: np.ndarray, first_id: int, ids: np.ndarray):
    B = BUREAU
    n = ids.size
    has = rng.random(n) < 0.857
    counts = np.where(has, 1 + rng.negative_binomial(1.4, 1.4 / (1.4 + 5.5), n), 0)
    parent, rank = _expand(counts)
    m = parent.size
    d: dict[str, np.ndarray | pd.Series] = {ID_COLUMN: ids[parent], "SK_ID_BUREAU": first_id + np.arange(m)}
    active_code = _draw(rng, B, "CREDIT_ACTIVE", m)
    active = active_code == 1
    d["CREDIT_ACTIVE"] = _strings(_cats(B, "CREDIT_ACTIVE"), active_code)
    d["CREDIT_CURRENCY"] = _strings(_cats(B, "CREDIT_CURRENCY"), _draw(rng, B, "CREDIT_CURRENCY", m))
    days_credit = -np.round(rng.beta(1.1, 1.7, m) * 2921 * np.where(active, 0.6, 1.0)).astype("int64") - 1
    d["DAYS_CREDIT"] = days_credit
    # Closed credits ended somewhere between their opening and today; active ones end in the future.
    closed_at = np.minimum(days_credit + np.round(-days_credit * rng.beta(1.0, 2.2, m)), -1)
    planned_end = closed_at + np.round(rng.normal(0, 60, m))
    future_end = np.round(np.exp(rng.normal(np.log(500), 1.0, m)))
    end = np.where(active, future_end, planned_end)
    past_planned_end = active & (rng.random(m) < 0.12)
    end = np.where(past_planned_end, np.maximum(-np.round(rng.exponential(300, m)) - 1, days_credit), end)
    d["DAYS_CREDIT_ENDDATE"] = _nan_mask(rng, np.minimum(end, 31199), 0.06)
    d["DAYS_ENDDATE_FACT"] = np.where(active, np.nan, _nan_mask(rng, closed_at, 0.001))
    credit_sum = np.round(np.exp(rng.normal(np.log(125_000), 1.05, m)), 1)
    credit_type = _draw(rng, B, "CREDIT_TYPE", m)
    card = credit_type == 1
    credit_sum[card & (rng.random(m) < 0.25)] = 0.0
    d["AMT_CREDIT_SUM"] = credit_sum
    d["CREDIT_TYPE"] = _strings(_cats(B, "CREDIT_TYPE"), credit_type)
    debt = np.where(active, np.round(credit_sum * rng.beta(1.5, 0.9, m), 2), 0.0)
    d["AMT_CREDIT_SUM_DEBT"] = _nan_mask(rng, debt, 0.15)
    limit = np.where(card & active, np.round(credit_sum * rng.beta(1, 2, m), 2), 0.0)
    d["AMT_CREDIT_SUM_LIMIT"] = _nan_mask(rng, limit, 0.345)

    # Overdue debt: a rare, fragility-driven event on one active credit of the applicant.
    propensity = _behaviour(rng, fragility)
    overdue_applicant = has & (rng.random(n) < 0.028 * np.exp(0.9 * propensity - 0.4))
    first_active = np.zeros(m, dtype=bool)
    active_rank = np.where(active, rank, 10**9)
    best = np.full(n, 10**9)
    np.minimum.at(best, parent, active_rank)
    first_active = active & (active_rank == best[parent])
    overdue_row = first_active & overdue_applicant[parent]
    overdue = np.where(overdue_row, np.round(np.exp(rng.normal(np.log(2500), 1.4, m)), 3), 0.0)
    d["AMT_CREDIT_SUM_OVERDUE"] = overdue
    day_overdue = np.where(overdue_row, np.round(rng.exponential(120, m)) + 1, 0)
    day_overdue[~overdue_row & (rng.random(m) < 0.0008)] = 1
    d["CREDIT_DAY_OVERDUE"] = day_overdue
    had_overdue = rng.random(m) < 0.09 * np.exp(0.5 * propensity[parent])
    max_overdue = np.where(had_overdue, np.round(rng.exponential(8000, m), 2), 0.0)
    d["AMT_CREDIT_MAX_OVERDUE"] = _nan_mask(rng, np.maximum(max_overdue, overdue), 0.655)
    d["CNT_CREDIT_PROLONG"] = _codes(rng, [0.9947, 0.0045, 0.0006, 0.0002], m)
    update = np.where(
        active,
        -np.round(rng.exponential(25, m)),
        np.minimum(np.nan_to_num(d["DAYS_ENDDATE_FACT"], nan=-30) + np.round(rng.exponential(30, m)), 0),
    )
    d["DAYS_CREDIT_UPDATE"] = np.maximum(update, days_credit).astype("int64")
    annuity = np.where(rng.random(m) < 0.7, 0.0, np.round(credit_sum * rng.uniform(0.02, 0.25, m), 1))
    d["AMT_ANNUITY"] = _nan_mask(rng, annuity, 0.71)
    bureau = _frame(B, d)

    # Monthly statuses for ~43 % of the credits, back from the last month to the opening month.
    with_history = rng.random(m) < 0.43
    months = np.where(with_history, np.minimum(-days_credit // 30 + 1, 97), 0)
    b_parent, b_rank = _expand(months)
    k = b_parent.size
    months_balance = -b_rank
    never = 10**6
    closed_month = np.where(active, never, np.nan_to_num(d["DAYS_ENDDATE_FACT"], nan=never) // 30)[b_parent]
    late_p = 0.006 * np.exp(1.2 * propensity[parent])[b_parent]
    late_p = np.where(overdue_row[b_parent] & (b_rank < 6), 0.8, late_p)
    status = np.where(rng.random(k) < 0.15, 2, 1)  # X (unknown) or 0 (on time)
    late = rng.random(k) < late_p
    status = np.where(late, 3 + _codes(rng, [0.62, 0.15, 0.07, 0.04, 0.12], k), status)
    status = np.where((months_balance > closed_month) & (rng.random(k) < 0.95), 0, status)  # C after closure
    status = np.where(~late & (rng.random(k) < 0.15), 2, status)  # unknown months, before or after closure
    balance = pd.DataFrame(
        {
            "SK_ID_BUREAU": d["SK_ID_BUREAU"][b_parent],
            "MONTHS_BALANCE": months_balance.astype("int64"),
            "STATUS": _strings(["C", "0", "X", "1", "2", "3", "4", "5"], status),
        }
    )
    overdue_max = _group_max(parent, overdue, n)
    overdue_max[~has] = np.nan
    return bureau, balance, overdue_max


def _previous(rng: np.random.Generator, fragility: np.ndarray, first_id: int, ids: np.ndarray, card_holder):
    P = PREVIOUS_APPLICATION
    n = ids.size
    has = (rng.random(n) < 0.946) | card_holder
    counts = np.where(has, 1 + rng.negative_binomial(1.1, 1.1 / (1.1 + 4.7), n), 0)
    parent, rank = _expand(counts)
    m = parent.size
    cat = CATEGORIES[P]
    d: dict[str, np.ndarray | pd.Series] = {"SK_ID_PREV": first_id + np.arange(m), ID_COLUMN: ids[parent]}
    refuse_p = 1 / (1 + np.exp(-(-1.85 + 0.95 * _behaviour(rng, fragility))))
    card_row = card_holder[parent] & (rank == 0)
    # Cash, Consumer, Revolving, XNA; the card holders' forced revolving rows count in the real share
    contract = _codes(rng, [0.4476, 0.4366, 0.058, 0.0002], m)
    contract[card_row] = 2
    status = np.where(rng.random(m) < refuse_p[parent], 2, _codes(rng, [0.752, 0.229, 0.0, 0.019], m))
    status[card_row] = 0
    d["NAME_CONTRACT_TYPE"] = _strings(_cats(P, "NAME_CONTRACT_TYPE"), contract)
    d["NAME_CONTRACT_STATUS"] = _strings(_cats(P, "NAME_CONTRACT_STATUS"), status)
    cash, consumer, revolving = contract == 0, contract == 1, contract == 2
    approved, refused, canceled = status == 0, status == 2, status == 1

    application = np.where(
        cash,
        _round_to(np.exp(rng.normal(np.log(225_000), 0.8, m)), 4500),
        np.where(consumer, np.round(np.exp(rng.normal(np.log(60_000), 0.9, m)), 1), 0.0),
    )
    application[revolving & (rng.random(m) < 0.5)] = 0.0
    limit = _round_to(np.exp(rng.normal(np.log(135_000), 0.6, m)), 22_500)
    down_payment = np.where(consumer & (rng.random(m) < 0.45), np.round(application * rng.beta(1, 6, m), 2), 0.0)
    credit = np.where(
        revolving,
        limit,
        np.where(cash, _round_to(application * rng.uniform(1.0, 1.15, m), 0.5), application - down_payment),
    )
    credit[canceled & (rng.random(m) < 0.7)] = 0.0
    cnt_payment = np.where(
        revolving,
        0,
        np.where(cash, np.array([12, 24, 36, 48, 60, 18, 6])[_codes(rng, [0.3, 0.25, 0.15, 0.05, 0.1, 0.1, 0.05], m)],
                 np.array([6, 10, 12, 18, 24, 4, 8])[_codes(rng, [0.2, 0.15, 0.3, 0.1, 0.15, 0.05, 0.05], m)]),
    )
    instalment = np.round(credit / np.maximum(cnt_payment, 1) * rng.uniform(1.15, 1.6, m), 3)
    annuity = np.minimum(np.where(revolving, np.round(limit * 0.05 * 4) / 4, instalment), 418_000.0)
    annuity = np.where(credit == 0, np.round(application / np.maximum(cnt_payment, 1) * 1.2, 3), annuity)
    d["AMT_ANNUITY"] = annuity
    d["AMT_APPLICATION"] = application
    d["AMT_CREDIT"] = credit
    d["AMT_DOWN_PAYMENT"] = down_payment
    d["AMT_GOODS_PRICE"] = np.where(revolving, limit, application)
    d["RATE_DOWN_PAYMENT"] = np.round(np.where(application > 0, down_payment / np.maximum(application, 1), 0.0), 9)
    weekday = _draw(rng, APPLICATION_TRAIN, "WEEKDAY_APPR_PROCESS_START", m)
    d["WEEKDAY_APPR_PROCESS_START"] = _strings(_cats(APPLICATION_TRAIN, "WEEKDAY_APPR_PROCESS_START"), weekday)
    d["HOUR_APPR_PROCESS_START"] = np.clip(np.round(rng.normal(12.5, 3.3, m)), 0, 23)
    d["FLAG_LAST_APPL_PER_CONTRACT"] = _strings(["N", "Y"], (rng.random(m) < 0.995).astype("int64"))
    d["NFLAG_LAST_APPL_IN_DAY"] = (rng.random(m) < 0.996).astype("int64")
    purposes = _cats(P, "NAME_CASH_LOAN_PURPOSE")
    named_purpose = 2 + _codes(rng, list(cat["NAME_CASH_LOAN_PURPOSE"].values())[2:], m)
    purpose = np.where(cash, np.where(rng.random(m) < 0.85, 1, named_purpose), 0)
    d["NAME_CASH_LOAN_PURPOSE"] = _strings(purposes, purpose)
    days_decision = -np.round(rng.beta(0.7, 1.6, m) * 2920).astype("int64") - 1
    d["DAYS_DECISION"] = days_decision
    paid_by = _codes(rng, [0.985, 0.0, 0.013, 0.002], m)
    payment_type = np.where((approved & ~revolving) | (rng.random(m) < 0.05), paid_by, 1)
    d["NAME_PAYMENT_TYPE"] = _strings(_cats(P, "NAME_PAYMENT_TYPE"), payment_type)
    reason = np.where(refused, 1 + _codes(rng, list(cat["CODE_REJECT_REASON"].values())[1:], m), 0)
    reason[(status == 3) & (rng.random(m) < 0.9)] = _cats(P, "CODE_REJECT_REASON").index("CLIENT")
    d["CODE_REJECT_REASON"] = _strings(_cats(P, "CODE_REJECT_REASON"), reason)
    d["NAME_TYPE_SUITE"] = _strings(_cats(P, "NAME_TYPE_SUITE"), _draw(rng, P, "NAME_TYPE_SUITE", m))
    client = np.where((rank == 0) & (rng.random(m) < 0.4), 1, _draw(rng, P, "NAME_CLIENT_TYPE", m))
    d["NAME_CLIENT_TYPE"] = _strings(_cats(P, "NAME_CLIENT_TYPE"), client)
    goods_cats = _cats(P, "NAME_GOODS_CATEGORY")
    goods = np.where(consumer, 1 + _codes(rng, list(cat["NAME_GOODS_CATEGORY"].values())[1:], m), 0)
    d["NAME_GOODS_CATEGORY"] = _strings(goods_cats, goods)
    portfolio = np.where(canceled & (rng.random(m) < 0.9), 2, np.where(cash, 1, np.where(consumer, 0, 3)))
    d["NAME_PORTFOLIO"] = _strings(_cats(P, "NAME_PORTFOLIO"), portfolio)
    d["NAME_PRODUCT_TYPE"] = _strings(
        _cats(P, "NAME_PRODUCT_TYPE"), np.where(~cash | canceled, 0, np.where(rng.random(m) < 0.72, 1, 2))
    )
    channel = np.where(
        consumer,
        np.array([1, 2, 3])[_codes(rng, [0.55, 0.3, 0.15], m)],
        np.array([0, 4, 5, 6])[_codes(rng, [0.86, 0.07, 0.065, 0.005], m)],
    )
    d["CHANNEL_TYPE"] = _strings(_cats(P, "CHANNEL_TYPE"), channel)
    d["SELLERPLACE_AREA"] = np.where(consumer, np.round(np.exp(rng.normal(np.log(60), 1.5, m))).clip(0, 4_000_000), -1)
    d["NAME_SELLER_INDUSTRY"] = _strings(
        _cats(P, "NAME_SELLER_INDUSTRY"),
        np.where(consumer, 1 + _codes(rng, list(cat["NAME_SELLER_INDUSTRY"].values())[1:], m), 0),
    )
    d["CNT_PAYMENT"] = cnt_payment
    yield_group = np.where(revolving | canceled, 0, 1 + _codes(rng, [0.33, 0.3, 0.29, 0.08], m))
    d["NAME_YIELD_GROUP"] = _strings(_cats(P, "NAME_YIELD_GROUP"), yield_group)
    pos_products = np.array(
        [
            "POS household with interest", "POS mobile with interest", "POS industry with interest",
            "POS household without interest", "POS other with interest",
        ]
    )
    cash_products = np.array(
        [
            "Cash X-Sell: middle", "Cash X-Sell: low", "Cash", "Cash Street: high", "Cash X-Sell: high",
            "Cash Street: middle", "Cash Street: low",
        ]
    )
    combination = np.where(
        consumer,
        pos_products[_codes(rng, [0.37, 0.3, 0.14, 0.12, 0.07], m)],
        np.where(cash, cash_products[_codes(rng, [0.18, 0.17, 0.3, 0.09, 0.09, 0.09, 0.08], m)],
                 np.where(rng.random(m) < 0.58, "Card Street", "Card X-Sell")),
    )
    combo_cats = _cats(P, "PRODUCT_COMBINATION")
    d["PRODUCT_COMBINATION"] = _strings(combo_cats, pd.Categorical(combination, categories=combo_cats).codes)

    first_due = np.minimum(days_decision + np.round(rng.uniform(10, 45, m)), -1)
    last_due_1st = first_due + 30 * np.maximum(cnt_payment - 1, 0)
    finished = last_due_1st < 0
    drawn = revolving & approved & (rng.random(m) < 0.5)
    d["DAYS_FIRST_DRAWING"] = np.where(drawn, days_decision + 5, DAYS_SENTINEL)
    d["DAYS_FIRST_DUE"] = np.where(rng.random(m) < 0.045, DAYS_SENTINEL, first_due)
    d["DAYS_LAST_DUE_1ST_VERSION"] = np.where(revolving, DAYS_SENTINEL, last_due_1st)
    early_end = np.round(rng.exponential(30, m)) * (rng.random(m) < 0.4)
    last_due = np.where(finished & ~revolving, last_due_1st - early_end, DAYS_SENTINEL)
    d["DAYS_LAST_DUE"] = last_due
    d["DAYS_TERMINATION"] = np.where(last_due == DAYS_SENTINEL, DAYS_SENTINEL, np.minimum(last_due + 8, -1))
    d["NFLAG_INSURED_ON_APPROVAL"] = (cash & (rng.random(m) < 0.55)).astype("int64")
    prev = _frame(P, d)
    refused_share = _group_mean(parent, refused.astype("float64"), n)
    loans = {
        "parent": parent, "approved": approved, "revolving": revolving, "first_due": first_due.astype("int64"),
        "cnt_payment": cnt_payment.astype("int64"), "annuity": annuity, "id": d["SK_ID_PREV"], "limit": limit,
    }
    return prev, loans, refused_share


def _repayments(rng: np.random.Generator, fragility: np.ndarray, loans: dict, ids: np.ndarray):
    """Instalments of approved loans (half the cards too) and POS_CASH months of the non-revolving ones."""
    n = ids.size
    lateness = _behaviour(rng, fragility)
    keep = loans["approved"] & (~loans["revolving"] | (rng.random(loans["approved"].size) < 0.5))
    loan_parent = loans["parent"][keep]
    first_due = loans["first_due"][keep]
    revolving = loans["revolving"][keep]
    # a card has no fixed term: its instalment history is a run of monthly minimum payments
    cnt = np.where(revolving, 1 + rng.geometric(1 / 12, keep.sum()), loans["cnt_payment"][keep])
    annuity = loans["annuity"][keep]
    loan_id = loans["id"][keep]
    elapsed = (-first_due) // 30 + 1
    n_inst = np.clip(np.minimum(cnt, elapsed), 1, None)
    n_inst = np.where(rng.random(keep.sum()) < 0.97, n_inst, 0)

    # Instalments: due every 30 days; paid early, on time or late (fragile applicants more often).
    i_loan, i_rank = _expand(n_inst)
    k = i_loan.size
    who = loan_parent[i_loan]
    due = first_due[i_loan] + 30 * i_rank
    late_p = 1 / (1 + np.exp(-(-3.9 + 1.7 * lateness[who])))
    late = rng.random(k) < late_p
    delay = np.where(
        late,
        np.ceil(rng.exponential(5.0 * np.exp(0.45 * lateness[who]), k)),
        -np.round(rng.exponential(8.5, k)),
    )
    entry = np.minimum(due + delay, -1)
    amount = np.round(annuity[i_loan] * np.where(i_rank == n_inst[i_loan] - 1, rng.uniform(0.3, 1.0, k), 1.0), 3)
    under = rng.random(k) < 1 / (1 + np.exp(-(-4.2 + 1.2 * lateness[who])))
    paid = np.where(under, np.round(amount * rng.uniform(0.05, 0.95, k), 3), amount)
    version = np.where(revolving[i_loan], 0, np.where(rng.random(k) < 0.92, 1, _codes(rng, [0.6, 0.0, 0.3, 0.1], k)))
    # Some instalments are paid in two parts (two rows, the second one later), as in the real file.
    row = np.repeat(np.arange(k), 1 + (rng.random(k) < 0.07))
    second = np.zeros(row.size, dtype=bool)
    second[1:] = row[1:] == row[:-1]
    split = second | np.append(second[1:], False)
    share = rng.uniform(0.2, 0.8, k)[row]
    part = np.where(split, np.where(second, 1 - share, share), 1.0)
    entry = np.where(second, np.minimum(entry[row] + np.floor(rng.exponential(2, row.size)), -1), entry[row])
    due, i_loan, i_rank, who = due[row], i_loan[row], i_rank[row], who[row]
    instalments = _frame(
        INSTALMENTS,
        {
            "SK_ID_PREV": loan_id[i_loan], ID_COLUMN: ids[who],
            "NUM_INSTALMENT_VERSION": version[row], "NUM_INSTALMENT_NUMBER": i_rank + 1, "DAYS_INSTALMENT": due,
            "DAYS_ENTRY_PAYMENT": entry, "AMT_INSTALMENT": amount[row], "AMT_PAYMENT": np.round(paid[row] * part, 3),
        },
    )
    dpd_mean = _group_mean(who, np.clip(entry - due, 0, None).astype("float64"), n)

    # POS_CASH: one status row per month for ~84 % of those loans; finished loans end with "Completed".
    extra_month = (n_inst >= cnt) | (rng.random(n_inst.size) < 0.2)
    months = np.where(~revolving & (rng.random(n_inst.size) < 0.84), n_inst + extra_month, 0)
    p_loan, p_rank = _expand(months)
    k = p_loan.size
    pwho = loan_parent[p_loan]
    done = p_rank >= cnt[p_loan]
    status = np.where(done, 1, np.where((p_rank == 0) & (rng.random(k) < 0.04), 2, 0))
    dpd = np.where(rng.random(k) < 0.02 * np.exp(0.9 * lateness[pwho]), np.ceil(rng.exponential(12, k)), 0)
    pos = _frame(
        POS_CASH,
        {
            "SK_ID_PREV": loan_id[p_loan], ID_COLUMN: ids[pwho],
            "MONTHS_BALANCE": np.minimum(first_due[p_loan] // 30 + p_rank, -1),
            "CNT_INSTALMENT": _nan_mask(rng, cnt[p_loan].astype("float64"), 0.0026),
            "CNT_INSTALMENT_FUTURE": np.clip(cnt[p_loan] - p_rank - 1, 0, None).astype("float64"),
            "NAME_CONTRACT_STATUS": _strings(_cats(POS_CASH, "NAME_CONTRACT_STATUS"), status),
            "SK_DPD": dpd, "SK_DPD_DEF": np.where(rng.random(k) < 0.3, dpd, 0),
        },
    )
    return pos, instalments, dpd_mean


def _credit_cards(rng: np.random.Generator, fragility: np.ndarray, loans: dict, ids: np.ndarray, card_holder):
    """Monthly card balances of each card holder's revolving loan (first previous application)."""
    n = ids.size
    atm = _behaviour(rng, fragility, 0.7)
    card_loans = np.flatnonzero(loans["revolving"] & loans["approved"] & card_holder[loans["parent"]])
    # one card per holder: its first previous application
    first = np.unique(loans["parent"][card_loans], return_index=True)[1]
    card_loans = card_loans[first]
    owner = loans["parent"][card_loans]
    months = np.clip(rng.negative_binomial(1.6, 1.6 / (1.6 + 36.0), card_loans.size), 1, 96)
    c_loan, c_rank = _expand(months)
    k = c_loan.size
    who = owner[c_loan]
    limit = loans["limit"][card_loans][c_loan].astype("int64")
    limit = np.where(rng.random(k) < 0.15, 0, limit)
    inactive = rng.random(k) < 0.195  # months without drawing details (NaN)
    rate = 0.3 * np.exp(1.0 * atm[who] - 0.2)
    cnt_atm = rng.poisson(rate)
    cnt_pos = rng.poisson(0.35 * np.exp(0.3 * rng.standard_normal(k)))
    amt_atm = cnt_atm * np.round(rng.exponential(5500, k), -2)
    amt_pos = np.round(cnt_pos * rng.exponential(3500, k), 3)
    balance = np.round(np.clip(limit * rng.beta(0.6, 1.2, k) * (rng.random(k) < 0.55), 0, None), 3)
    minimum = np.round(balance * 0.05, 3)
    payment = np.round(np.where(balance > 0, np.maximum(minimum, balance * rng.beta(0.8, 3, k)), 0.0), 3)
    principal = np.round(balance * 0.96, 3)
    dpd = np.where(rng.random(k) < 0.01 * np.exp(0.8 * atm[who]), np.ceil(rng.exponential(10, k)), 0)
    mature = np.round(0.7 * (months[c_loan] - 1 - c_rank)).clip(0, 120)  # instalments paid so far (c_rank 0 = now)

    def drawing(values: np.ndarray) -> np.ndarray:
        return np.where(inactive, np.nan, values.astype("float64"))

    card = _frame(
        CREDIT_CARD,
        {
            "SK_ID_PREV": loans["id"][card_loans][c_loan], ID_COLUMN: ids[who],
            "MONTHS_BALANCE": -(c_rank + 1), "AMT_BALANCE": balance, "AMT_CREDIT_LIMIT_ACTUAL": limit,
            "AMT_DRAWINGS_ATM_CURRENT": drawing(amt_atm), "AMT_DRAWINGS_CURRENT": amt_atm * (~inactive) + amt_pos,
            "AMT_DRAWINGS_OTHER_CURRENT": drawing(np.zeros(k)), "AMT_DRAWINGS_POS_CURRENT": drawing(amt_pos),
            "AMT_INST_MIN_REGULARITY": _nan_mask(rng, minimum, 0.08),
            "AMT_PAYMENT_CURRENT": np.where(inactive, np.nan, payment),
            "AMT_PAYMENT_TOTAL_CURRENT": payment, "AMT_RECEIVABLE_PRINCIPAL": principal,
            "AMT_RECIVABLE": balance, "AMT_TOTAL_RECEIVABLE": balance,
            "CNT_DRAWINGS_ATM_CURRENT": drawing(cnt_atm), "CNT_DRAWINGS_CURRENT": cnt_atm * (~inactive) + cnt_pos,
            "CNT_DRAWINGS_OTHER_CURRENT": drawing(np.zeros(k)), "CNT_DRAWINGS_POS_CURRENT": drawing(cnt_pos),
            "CNT_INSTALMENT_MATURE_CUM": _nan_mask(rng, mature, 0.08),
            "NAME_CONTRACT_STATUS": _strings(
                _cats(CREDIT_CARD, "NAME_CONTRACT_STATUS"), np.where((c_rank == 0) & (rng.random(k) < 0.3), 1, 0)
            ),
            "SK_DPD": dpd, "SK_DPD_DEF": np.where(rng.random(k) < 0.4, dpd, 0),
        },
    )
    atm_mean = _group_mean(who, np.where(inactive, np.nan, cnt_atm.astype("float64")), n)
    return card, atm_mean


# --- Generation -----------------------------------------------------------------------------


@dataclass
class SyntheticData:
    """The twin: the tables (application with TARGET) and the known default probability."""

    tables: Tables
    true_probability: pd.Series  # indexed by SK_ID_CURR
    test_application: pd.DataFrame | None = None  # application_test-like rows (no TARGET)


def _application_risk_inputs(app: pd.DataFrame) -> pd.DataFrame:
    """The application-level inputs of the risk function, computed as scoring.features does."""
    from scoring.features import application_features

    return application_features(app)


@dataclass
class _Part:
    tables: Tables
    probability: np.ndarray
    next_ids: tuple[int, int, int]


def _generate_part(rng: np.random.Generator, n: int, first_ids: tuple[int, int, int], bar) -> _Part:
    first_curr, first_bureau, first_prev = first_ids
    people = _applicants(rng, n, first_curr)
    app = people.table
    ids = app[ID_COLUMN].to_numpy()
    bar.update()
    bureau, balance, overdue_max = _bureau(rng, people.fragility, first_bureau, ids)
    bar.update()
    card_holder = rng.random(n) < 0.336
    prev, loans, refused_share = _previous(rng, people.fragility, first_prev, ids, card_holder)
    bar.update()
    pos, instalments, dpd_mean = _repayments(rng, people.fragility, loans, ids)
    bar.update()
    card, atm_mean = _credit_cards(rng, people.fragility, loans, ids, card_holder)
    bar.update()

    inputs = _application_risk_inputs(app)
    inputs["BUREAU_AMT_CREDIT_SUM_OVERDUE_max"] = overdue_max
    inputs["CRECARD_CNT_DRAWINGS_ATM_CURRENT_mean"] = atm_mean
    inputs["INSTAL_DPD_mean"] = dpd_mean
    inputs["PREV_NAME_CONTRACT_STATUS_Refused_mean"] = refused_share
    probability = risk_probability(inputs)
    app[TARGET_COLUMN] = (rng.random(n) < probability).astype("int64")
    tables = Tables(
        application=app, bureau=bureau, bureau_balance=balance, previous_application=prev,
        pos_cash=pos, installments=instalments, credit_card=card,
    )
    next_ids = (first_curr + n, first_bureau + len(bureau), first_prev + len(prev))
    return _Part(tables, probability, next_ids)


def generate(
    n_applicants: int = config.DEFAULT_SYNTHETIC_APPLICANTS,
    seed: int = config.DEFAULT_SEED,
    *,
    progress: bool = True,
    test_applicants: int = 0,
) -> SyntheticData:
    """Generate the twin for `n_applicants` training applicants (deterministic for `seed`).

    With `test_applicants`, also an ``application_test``-like table (drawn from an independent
    stream, so the training part does not change) whose child rows are added to the child tables.
    """
    from tqdm.auto import tqdm

    if n_applicants < 1:
        raise ValueError(f"n_applicants must be at least 1, got {n_applicants}")
    if test_applicants < 0:
        raise ValueError(f"test_applicants must be 0 or more, got {test_applicants}")
    parts = 2 if test_applicants else 1
    bar = tqdm(total=5 * parts, desc="synthetic twin", unit="step", file=sys.stderr, disable=not progress)
    train_rng, test_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    train = _generate_part(train_rng, n_applicants, (FIRST_ID_CURR, FIRST_ID_BUREAU, FIRST_ID_PREV), bar)
    tables = train.tables
    test_app = None
    if test_applicants:
        test = _generate_part(test_rng, test_applicants, train.next_ids, bar)
        test_app = test.tables.application.drop(columns=TARGET_COLUMN)
        tables = Tables(
            application=train.tables.application,
            **{
                field: pd.concat([getattr(train.tables, field), getattr(test.tables, field)], ignore_index=True)
                for field in FIELD_OF_TABLE.values()
            },
        )
    bar.close()
    index = pd.Index(tables.application[ID_COLUMN].to_numpy(), name=ID_COLUMN)
    probability = pd.Series(train.probability, index=index, name="true_probability")
    return SyntheticData(tables=tables, true_probability=probability, test_application=test_app)


def write_tables(tables: Tables, out_dir: str | Path, *, progress: bool = False) -> list[Path]:
    """Write the tables as Kaggle-named CSV files in `out_dir` (application as application_train)."""
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    present = [(name, frame) for name, frame in tables.items() if frame is not None]
    for name, frame in tqdm(present, desc="writing CSV", unit="table", file=sys.stderr, disable=not progress):
        path = out_dir / table_file_name(name)
        frame.to_csv(path, index=False)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scoring.synthetic",
        description="Write the synthetic twin of the seven Home Credit tables as Kaggle-named CSV files.",
    )
    parser.add_argument("--out", required=True, type=Path, help="folder to write the CSV files into")
    parser.add_argument(
        "--applicants", type=int, default=config.DEFAULT_SYNTHETIC_APPLICANTS,
        help="training applicants (application_train.csv rows; default %(default)s; the Kaggle size is 307511)",
    )
    parser.add_argument("--seed", type=int, default=config.DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument(
        "--test-applicants", type=int, default=DEFAULT_TEST_APPLICANTS,
        help="rows of application_test.csv, without TARGET (default %(default)s; 0 = no test file)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.applicants < 1 or args.test_applicants < 0:
        parser.error("--applicants must be at least 1 and --test-applicants 0 or more")
    start = time.perf_counter()
    data = generate(args.applicants, args.seed, progress=not args.quiet, test_applicants=args.test_applicants)
    try:
        paths = write_tables(data.tables, args.out, progress=not args.quiet)
        if data.test_application is not None:
            path = args.out / table_file_name(APPLICATION_TEST)
            data.test_application.to_csv(path, index=False)
            paths.append(path)
    except OSError as exc:
        print(f"error: cannot write into {args.out}: {exc}", file=sys.stderr)
        return 2
    app = data.tables.application
    print(
        f"synthetic twin (seed {args.seed}): {len(app)} applicants, default rate {app[TARGET_COLUMN].mean():.1%}, "
        f"written in {time.perf_counter() - start:.1f} s"
    )
    for path in paths:
        print(f"  {path}  ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
