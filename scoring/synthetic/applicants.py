"""The application table of the twin: one row per applicant, and the latent fragility behind it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from scoring.schema import APPLICATION_TRAIN, ID_COLUMN, TARGET_COLUMN
from scoring.synthetic.draws import (
    as_strings,
    categories_of,
    draw_category,
    draw_codes,
    kaggle_frame,
    map_to_quantiles,
    round_to,
    with_nans,
)
from scoring.synthetic.marginals import real_quantiles
from scoring.tables import BUILDING_COLUMNS, CATEGORIES, DAYS_SENTINEL, DOCUMENT_FLAGS


@dataclass
class Applicants:
    table: pd.DataFrame
    fragility: np.ndarray  # latent: high = financially fragile (drives child-table behaviour)


def draw_applicants(rng: np.random.Generator, n: int, first_id: int) -> Applicants:
    A = APPLICATION_TRAIN
    cat = CATEGORIES[A]
    g = rng.standard_normal(n)  # creditworthiness
    fragility = -g
    d: dict[str, np.ndarray | pd.Series] = {ID_COLUMN: first_id + np.arange(n)}

    # Age, income type, employment (pensioners carry the DAYS_EMPLOYED sentinel).
    age = 20.1 + 48.8 * rng.beta(1.5, 1.75, n)
    d["DAYS_BIRTH"] = -np.round(age * 365.25).astype("int64")
    income_types = categories_of(A, "NAME_INCOME_TYPE")
    pensioner_p = 0.93 / (1 + np.exp(-(age - 57.0) / 2.2)) + 0.015
    non_pension = dict(cat["NAME_INCOME_TYPE"])
    non_pension.pop("Pensioner")
    income_code = np.where(
        rng.random(n) < pensioner_p,
        income_types.index("Pensioner"),
        np.array([income_types.index(k) for k in non_pension])[draw_codes(rng, non_pension, n)],
    )
    unemployed = income_code == income_types.index("Unemployed")
    no_job = (income_code == income_types.index("Pensioner")) | unemployed
    years_employed = np.minimum(np.exp(rng.normal(np.log(4.6), 0.95, n)), age - 18.0)
    days_employed = -np.maximum(np.round(years_employed * 365.25), 0).astype("int64")
    d["DAYS_EMPLOYED"] = np.where(no_job, DAYS_SENTINEL, days_employed)
    d["NAME_INCOME_TYPE"] = as_strings(income_types, income_code)
    d["FLAG_EMP_PHONE"] = (~no_job).astype("int64")

    org_types = categories_of(A, "ORGANIZATION_TYPE")
    org_shares = dict(cat["ORGANIZATION_TYPE"])
    org_shares.pop("XNA")
    org_code = np.array([org_types.index(k) for k in org_shares])[draw_codes(rng, org_shares, n)]
    d["ORGANIZATION_TYPE"] = as_strings(org_types, np.where(no_job, org_types.index("XNA"), org_code))
    occupation = draw_category(rng, A, "OCCUPATION_TYPE", n)
    occupation[no_job | (rng.random(n) < 0.15)] = -1
    d["OCCUPATION_TYPE"] = as_strings(categories_of(A, "OCCUPATION_TYPE"), occupation)

    # Gender: XNA is very rare in the real data (4 in 307,511); from 100 applicants on, keep at least
    # one so that the quirk is always there to be handled.
    gender = draw_category(rng, A, "CODE_GENDER", n)
    xna = categories_of(A, "CODE_GENDER").index("XNA")
    gender[gender == xna] = 0
    gender[rng.choice(n, size=max(int(n >= 100), round(n * 1.3e-5)), replace=False)] = xna
    d["CODE_GENDER"] = as_strings(categories_of(A, "CODE_GENDER"), gender)

    # Education by rank of a latent correlated with g: exact shares, better-off applicants study longer.
    levels = ["Lower secondary", "Secondary / secondary special", "Incomplete higher", "Higher education",
              "Academic degree"]
    level_shares = np.array([cat["NAME_EDUCATION_TYPE"][k] for k in levels])
    rank = np.argsort(np.argsort(0.45 * g + rng.standard_normal(n))) / n
    level = np.searchsorted(np.cumsum(level_shares / level_shares.sum()), rank, side="right").clip(0, 4)
    education = np.array([categories_of(A, "NAME_EDUCATION_TYPE").index(k) for k in levels])[level]
    d["NAME_EDUCATION_TYPE"] = as_strings(categories_of(A, "NAME_EDUCATION_TYPE"), education)

    contract = draw_category(rng, A, "NAME_CONTRACT_TYPE", n)
    revolving = contract == 1
    d["NAME_CONTRACT_TYPE"] = as_strings(categories_of(A, "NAME_CONTRACT_TYPE"), contract)
    own_car = rng.random(n) < 0.34 + 0.08 * (gender == 1)
    d["FLAG_OWN_CAR"] = as_strings(["N", "Y"], own_car.astype("int64"))
    d["FLAG_OWN_REALTY"] = as_strings(["N", "Y"], (rng.random(n) < 0.694).astype("int64"))
    children = draw_codes(rng, [0.700, 0.199, 0.087, 0.012, 0.0014, 0.0004], n)
    d["CNT_CHILDREN"] = children
    family = draw_category(rng, A, "NAME_FAMILY_STATUS", n)
    d["NAME_FAMILY_STATUS"] = as_strings(categories_of(A, "NAME_FAMILY_STATUS"), family)
    couple = np.isin(family, [0, 2])
    d["CNT_FAM_MEMBERS"] = children + 1 + couple

    # Money: income, credit, annuity, goods price (rounded like the real amounts).
    higher = education == 1
    income = np.exp(rng.normal(np.log(132_000), 0.47, n) + 0.22 * higher + 0.08 * g)
    d["AMT_INCOME_TOTAL"] = np.maximum(round_to(income, 2250.0), 25650.0)
    credit_cash = np.exp(rng.normal(np.log(480_000), 0.55, n) + 0.5 * (np.log(income) - np.log(140_000)))
    credit_cash = np.clip(round_to(credit_cash, 0.5), 45_000, 4_050_000)
    credit_rev = round_to(np.clip(np.exp(rng.normal(np.log(270_000), 0.45, n)), 45_000, 1_350_000), 22_500)
    credit = np.where(revolving, credit_rev, credit_cash)
    # larger credits run longer: the yearly payment rate falls with the amount
    log_rate = rng.normal(np.log(0.05), 0.24, n) - 0.22 * (np.log(credit_cash) - np.log(500_000))
    payment_rate = np.clip(np.exp(log_rate), 0.0225, 0.124)
    payment_rate = np.where(revolving, 0.05, payment_rate)
    d["AMT_CREDIT"] = credit
    d["AMT_ANNUITY"] = with_nans(rng, np.round(credit * payment_rate * 2) / 2, 4e-5)
    goods = round_to(credit / rng.uniform(1.0, 1.22, n), 4500.0)
    goods = np.where(revolving, credit, np.maximum(goods, 40_500.0))
    goods[revolving & (rng.random(n) < 0.01)] = np.nan
    d["AMT_GOODS_PRICE"] = goods

    suite = draw_category(rng, A, "NAME_TYPE_SUITE", n)
    suite[rng.random(n) < 0.0042] = -1
    d["NAME_TYPE_SUITE"] = as_strings(categories_of(A, "NAME_TYPE_SUITE"), suite)
    housing = draw_category(rng, A, "NAME_HOUSING_TYPE", n)
    d["NAME_HOUSING_TYPE"] = as_strings(categories_of(A, "NAME_HOUSING_TYPE"), housing)

    # Region: a few dozen population densities; denser regions have better ratings.
    regions = np.round(np.sort(np.exp(rng.normal(np.log(0.018), 0.75, 81)).clip(0.00029, 0.072508)), 6)
    region = draw_codes(rng, 1.0 / (1 + np.arange(81) % 17), n)
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
    d["WEEKDAY_APPR_PROCESS_START"] = as_strings(
        categories_of(A, "WEEKDAY_APPR_PROCESS_START"), draw_category(rng, A, "WEEKDAY_APPR_PROCESS_START", n)
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
        return with_nans(rng, np.round(np.clip(score, 1e-4, 0.963), 6), nan_share)

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
        codes = draw_category(rng, A, col, n)
        codes[~has_building | (rng.random(n) < nan_share)] = -1
        d[col] = as_strings(categories_of(A, col), codes)

    obs = with_nans(rng, rng.negative_binomial(0.45, 0.45 / (0.45 + 1.42), n).astype("float64"), 0.0033)
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
    document = draw_codes(rng, documents + [1 - sum(documents)], n)
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
    for col, quantiles in real_quantiles().items():
        d[col] = map_to_quantiles(np.asarray(d[col], dtype=float), quantiles)

    d[TARGET_COLUMN] = np.zeros(n, dtype="int64")  # drawn once the child tables are known
    return Applicants(table=kaggle_frame(A, d), fragility=fragility)
