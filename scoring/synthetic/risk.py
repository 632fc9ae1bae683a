"""The twin's known risk: the true default probability as a function of engineered features."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
