"""The twin's previous_application table: earlier applications at Home Credit and their outcome."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.schema import APPLICATION_TRAIN, ID_COLUMN, PREVIOUS_APPLICATION
from scoring.synthetic.draws import (
    as_strings,
    behaviour,
    categories_of,
    draw_category,
    draw_codes,
    expand,
    group_mean,
    kaggle_frame,
    round_to,
)
from scoring.tables import CATEGORIES, DAYS_SENTINEL


def draw_previous(rng: np.random.Generator, fragility: np.ndarray, first_id: int, ids: np.ndarray, card_holder):
    P = PREVIOUS_APPLICATION
    n = ids.size
    has = (rng.random(n) < 0.946) | card_holder
    counts = np.where(has, 1 + rng.negative_binomial(1.1, 1.1 / (1.1 + 4.7), n), 0)
    parent, rank = expand(counts)
    m = parent.size
    cat = CATEGORIES[P]
    d: dict[str, np.ndarray | pd.Series] = {"SK_ID_PREV": first_id + np.arange(m), ID_COLUMN: ids[parent]}
    refuse_p = 1 / (1 + np.exp(-(-1.85 + 0.95 * behaviour(rng, fragility))))
    card_row = card_holder[parent] & (rank == 0)
    # Cash, Consumer, Revolving, XNA; the card holders' forced revolving rows count in the real share
    contract = draw_codes(rng, [0.4476, 0.4366, 0.058, 0.0002], m)
    contract[card_row] = 2
    status = np.where(rng.random(m) < refuse_p[parent], 2, draw_codes(rng, [0.752, 0.229, 0.0, 0.019], m))
    status[card_row] = 0
    d["NAME_CONTRACT_TYPE"] = as_strings(categories_of(P, "NAME_CONTRACT_TYPE"), contract)
    d["NAME_CONTRACT_STATUS"] = as_strings(categories_of(P, "NAME_CONTRACT_STATUS"), status)
    cash, consumer, revolving = contract == 0, contract == 1, contract == 2
    approved, refused, canceled = status == 0, status == 2, status == 1

    application = np.where(
        cash,
        round_to(np.exp(rng.normal(np.log(225_000), 0.8, m)), 4500),
        np.where(consumer, np.round(np.exp(rng.normal(np.log(60_000), 0.9, m)), 1), 0.0),
    )
    application[revolving & (rng.random(m) < 0.5)] = 0.0
    limit = round_to(np.exp(rng.normal(np.log(135_000), 0.6, m)), 22_500)
    down_payment = np.where(consumer & (rng.random(m) < 0.45), np.round(application * rng.beta(1, 6, m), 2), 0.0)
    credit = np.where(
        revolving,
        limit,
        np.where(cash, round_to(application * rng.uniform(1.0, 1.15, m), 0.5), application - down_payment),
    )
    credit[canceled & (rng.random(m) < 0.7)] = 0.0
    cnt_payment = np.where(
        revolving,
        0,
        np.where(cash,
                 np.array([12, 24, 36, 48, 60, 18, 6])[draw_codes(rng, [0.3, 0.25, 0.15, 0.05, 0.1, 0.1, 0.05], m)],
                 np.array([6, 10, 12, 18, 24, 4, 8])[draw_codes(rng, [0.2, 0.15, 0.3, 0.1, 0.15, 0.05, 0.05], m)]),
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
    weekday = draw_category(rng, APPLICATION_TRAIN, "WEEKDAY_APPR_PROCESS_START", m)
    weekdays = categories_of(APPLICATION_TRAIN, "WEEKDAY_APPR_PROCESS_START")
    d["WEEKDAY_APPR_PROCESS_START"] = as_strings(weekdays, weekday)
    d["HOUR_APPR_PROCESS_START"] = np.clip(np.round(rng.normal(12.5, 3.3, m)), 0, 23)
    d["FLAG_LAST_APPL_PER_CONTRACT"] = as_strings(["N", "Y"], (rng.random(m) < 0.995).astype("int64"))
    d["NFLAG_LAST_APPL_IN_DAY"] = (rng.random(m) < 0.996).astype("int64")
    purposes = categories_of(P, "NAME_CASH_LOAN_PURPOSE")
    named_purpose = 2 + draw_codes(rng, list(cat["NAME_CASH_LOAN_PURPOSE"].values())[2:], m)
    purpose = np.where(cash, np.where(rng.random(m) < 0.85, 1, named_purpose), 0)
    d["NAME_CASH_LOAN_PURPOSE"] = as_strings(purposes, purpose)
    days_decision = -np.round(rng.beta(0.7, 1.6, m) * 2920).astype("int64") - 1
    d["DAYS_DECISION"] = days_decision
    paid_by = draw_codes(rng, [0.985, 0.0, 0.013, 0.002], m)
    payment_type = np.where((approved & ~revolving) | (rng.random(m) < 0.05), paid_by, 1)
    d["NAME_PAYMENT_TYPE"] = as_strings(categories_of(P, "NAME_PAYMENT_TYPE"), payment_type)
    reason = np.where(refused, 1 + draw_codes(rng, list(cat["CODE_REJECT_REASON"].values())[1:], m), 0)
    reason[(status == 3) & (rng.random(m) < 0.9)] = categories_of(P, "CODE_REJECT_REASON").index("CLIENT")
    d["CODE_REJECT_REASON"] = as_strings(categories_of(P, "CODE_REJECT_REASON"), reason)
    d["NAME_TYPE_SUITE"] = as_strings(categories_of(P, "NAME_TYPE_SUITE"), draw_category(rng, P, "NAME_TYPE_SUITE", m))
    client = np.where((rank == 0) & (rng.random(m) < 0.4), 1, draw_category(rng, P, "NAME_CLIENT_TYPE", m))
    d["NAME_CLIENT_TYPE"] = as_strings(categories_of(P, "NAME_CLIENT_TYPE"), client)
    goods_cats = categories_of(P, "NAME_GOODS_CATEGORY")
    goods = np.where(consumer, 1 + draw_codes(rng, list(cat["NAME_GOODS_CATEGORY"].values())[1:], m), 0)
    d["NAME_GOODS_CATEGORY"] = as_strings(goods_cats, goods)
    portfolio = np.where(canceled & (rng.random(m) < 0.9), 2, np.where(cash, 1, np.where(consumer, 0, 3)))
    d["NAME_PORTFOLIO"] = as_strings(categories_of(P, "NAME_PORTFOLIO"), portfolio)
    d["NAME_PRODUCT_TYPE"] = as_strings(
        categories_of(P, "NAME_PRODUCT_TYPE"), np.where(~cash | canceled, 0, np.where(rng.random(m) < 0.72, 1, 2))
    )
    channel = np.where(
        consumer,
        np.array([1, 2, 3])[draw_codes(rng, [0.55, 0.3, 0.15], m)],
        np.array([0, 4, 5, 6])[draw_codes(rng, [0.86, 0.07, 0.065, 0.005], m)],
    )
    d["CHANNEL_TYPE"] = as_strings(categories_of(P, "CHANNEL_TYPE"), channel)
    d["SELLERPLACE_AREA"] = np.where(consumer, np.round(np.exp(rng.normal(np.log(60), 1.5, m))).clip(0, 4_000_000), -1)
    d["NAME_SELLER_INDUSTRY"] = as_strings(
        categories_of(P, "NAME_SELLER_INDUSTRY"),
        np.where(consumer, 1 + draw_codes(rng, list(cat["NAME_SELLER_INDUSTRY"].values())[1:], m), 0),
    )
    d["CNT_PAYMENT"] = cnt_payment
    yield_group = np.where(revolving | canceled, 0, 1 + draw_codes(rng, [0.33, 0.3, 0.29, 0.08], m))
    d["NAME_YIELD_GROUP"] = as_strings(categories_of(P, "NAME_YIELD_GROUP"), yield_group)
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
        pos_products[draw_codes(rng, [0.37, 0.3, 0.14, 0.12, 0.07], m)],
        np.where(cash, cash_products[draw_codes(rng, [0.18, 0.17, 0.3, 0.09, 0.09, 0.09, 0.08], m)],
                 np.where(rng.random(m) < 0.58, "Card Street", "Card X-Sell")),
    )
    combo_cats = categories_of(P, "PRODUCT_COMBINATION")
    d["PRODUCT_COMBINATION"] = as_strings(combo_cats, pd.Categorical(combination, categories=combo_cats).codes)

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
    prev = kaggle_frame(P, d)
    refused_share = group_mean(parent, refused.astype("float64"), n)
    loans = {
        "parent": parent, "approved": approved, "revolving": revolving, "first_due": first_due.astype("int64"),
        "cnt_payment": cnt_payment.astype("int64"), "annuity": annuity, "id": d["SK_ID_PREV"], "limit": limit,
    }
    return prev, loans, refused_share
