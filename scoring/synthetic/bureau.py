"""The twin's bureau and bureau_balance tables: other lenders' credits and their monthly statuses."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.schema import BUREAU, ID_COLUMN
from scoring.synthetic.draws import (
    as_strings,
    behaviour,
    categories_of,
    draw_category,
    draw_codes,
    expand,
    group_max,
    kaggle_frame,
    with_nans,
)


def draw_bureau(rng: np.random.Generator, fragility: np.ndarray, first_id: int, ids: np.ndarray):
    B = BUREAU
    n = ids.size
    has = rng.random(n) < 0.857
    counts = np.where(has, 1 + rng.negative_binomial(1.4, 1.4 / (1.4 + 5.5), n), 0)
    parent, rank = expand(counts)
    m = parent.size
    d: dict[str, np.ndarray | pd.Series] = {ID_COLUMN: ids[parent], "SK_ID_BUREAU": first_id + np.arange(m)}
    active_code = draw_category(rng, B, "CREDIT_ACTIVE", m)
    active = active_code == 1
    d["CREDIT_ACTIVE"] = as_strings(categories_of(B, "CREDIT_ACTIVE"), active_code)
    d["CREDIT_CURRENCY"] = as_strings(categories_of(B, "CREDIT_CURRENCY"), draw_category(rng, B, "CREDIT_CURRENCY", m))
    days_credit = -np.round(rng.beta(1.1, 1.7, m) * 2921 * np.where(active, 0.6, 1.0)).astype("int64") - 1
    d["DAYS_CREDIT"] = days_credit
    # Closed credits ended somewhere between their opening and today; active ones end in the future.
    closed_at = np.minimum(days_credit + np.round(-days_credit * rng.beta(1.0, 2.2, m)), -1)
    planned_end = closed_at + np.round(rng.normal(0, 60, m))
    future_end = np.round(np.exp(rng.normal(np.log(500), 1.0, m)))
    end = np.where(active, future_end, planned_end)
    past_planned_end = active & (rng.random(m) < 0.12)
    end = np.where(past_planned_end, np.maximum(-np.round(rng.exponential(300, m)) - 1, days_credit), end)
    d["DAYS_CREDIT_ENDDATE"] = with_nans(rng, np.minimum(end, 31199), 0.06)
    d["DAYS_ENDDATE_FACT"] = np.where(active, np.nan, with_nans(rng, closed_at, 0.001))
    credit_sum = np.round(np.exp(rng.normal(np.log(125_000), 1.05, m)), 1)
    credit_type = draw_category(rng, B, "CREDIT_TYPE", m)
    card = credit_type == 1
    credit_sum[card & (rng.random(m) < 0.25)] = 0.0
    d["AMT_CREDIT_SUM"] = credit_sum
    d["CREDIT_TYPE"] = as_strings(categories_of(B, "CREDIT_TYPE"), credit_type)
    debt = np.where(active, np.round(credit_sum * rng.beta(1.5, 0.9, m), 2), 0.0)
    d["AMT_CREDIT_SUM_DEBT"] = with_nans(rng, debt, 0.15)
    limit = np.where(card & active, np.round(credit_sum * rng.beta(1, 2, m), 2), 0.0)
    d["AMT_CREDIT_SUM_LIMIT"] = with_nans(rng, limit, 0.345)

    # Overdue debt: a rare, fragility-driven event on one active credit of the applicant.
    propensity = behaviour(rng, fragility)
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
    d["AMT_CREDIT_MAX_OVERDUE"] = with_nans(rng, np.maximum(max_overdue, overdue), 0.655)
    d["CNT_CREDIT_PROLONG"] = draw_codes(rng, [0.9947, 0.0045, 0.0006, 0.0002], m)
    update = np.where(
        active,
        -np.round(rng.exponential(25, m)),
        np.minimum(np.nan_to_num(d["DAYS_ENDDATE_FACT"], nan=-30) + np.round(rng.exponential(30, m)), 0),
    )
    d["DAYS_CREDIT_UPDATE"] = np.maximum(update, days_credit).astype("int64")
    annuity = np.where(rng.random(m) < 0.7, 0.0, np.round(credit_sum * rng.uniform(0.02, 0.25, m), 1))
    d["AMT_ANNUITY"] = with_nans(rng, annuity, 0.71)
    bureau = kaggle_frame(B, d)

    # Monthly statuses for ~43 % of the credits, back from the last month to the opening month.
    with_history = rng.random(m) < 0.43
    months = np.where(with_history, np.minimum(-days_credit // 30 + 1, 97), 0)
    b_parent, b_rank = expand(months)
    k = b_parent.size
    months_balance = -b_rank
    never = 10**6
    closed_month = np.where(active, never, np.nan_to_num(d["DAYS_ENDDATE_FACT"], nan=never) // 30)[b_parent]
    late_p = 0.006 * np.exp(1.2 * propensity[parent])[b_parent]
    late_p = np.where(overdue_row[b_parent] & (b_rank < 6), 0.8, late_p)
    status = np.where(rng.random(k) < 0.15, 2, 1)  # X (unknown) or 0 (on time)
    late = rng.random(k) < late_p
    status = np.where(late, 3 + draw_codes(rng, [0.62, 0.15, 0.07, 0.04, 0.12], k), status)
    status = np.where((months_balance > closed_month) & (rng.random(k) < 0.95), 0, status)  # C after closure
    status = np.where(~late & (rng.random(k) < 0.15), 2, status)  # unknown months, before or after closure
    balance = pd.DataFrame(
        {
            "SK_ID_BUREAU": d["SK_ID_BUREAU"][b_parent],
            "MONTHS_BALANCE": months_balance.astype("int64"),
            "STATUS": as_strings(["C", "0", "X", "1", "2", "3", "4", "5"], status),
        }
    )
    overdue_max = group_max(parent, overdue, n)
    overdue_max[~has] = np.nan
    return bureau, balance, overdue_max
