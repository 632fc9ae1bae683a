"""The twin's repayment tables: instalments, POS_CASH months and credit-card months of past loans."""

from __future__ import annotations

import numpy as np

from scoring.schema import CREDIT_CARD, ID_COLUMN, INSTALMENTS, POS_CASH
from scoring.synthetic.draws import (
    as_strings,
    behaviour,
    categories_of,
    draw_codes,
    expand,
    group_mean,
    kaggle_frame,
    with_nans,
)


def draw_repayments(rng: np.random.Generator, fragility: np.ndarray, loans: dict, ids: np.ndarray):
    """Instalments of approved loans (half the cards too) and POS_CASH months of the non-revolving ones."""
    n = ids.size
    lateness = behaviour(rng, fragility)
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
    i_loan, i_rank = expand(n_inst)
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
    version = np.where(revolving[i_loan], 0,
                       np.where(rng.random(k) < 0.92, 1, draw_codes(rng, [0.6, 0.0, 0.3, 0.1], k)))
    # Some instalments are paid in two parts (two rows, the second one later), as in the real file.
    row = np.repeat(np.arange(k), 1 + (rng.random(k) < 0.07))
    second = np.zeros(row.size, dtype=bool)
    second[1:] = row[1:] == row[:-1]
    split = second | np.append(second[1:], False)
    share = rng.uniform(0.2, 0.8, k)[row]
    part = np.where(split, np.where(second, 1 - share, share), 1.0)
    entry = np.where(second, np.minimum(entry[row] + np.floor(rng.exponential(2, row.size)), -1), entry[row])
    due, i_loan, i_rank, who = due[row], i_loan[row], i_rank[row], who[row]
    instalments = kaggle_frame(
        INSTALMENTS,
        {
            "SK_ID_PREV": loan_id[i_loan], ID_COLUMN: ids[who],
            "NUM_INSTALMENT_VERSION": version[row], "NUM_INSTALMENT_NUMBER": i_rank + 1, "DAYS_INSTALMENT": due,
            "DAYS_ENTRY_PAYMENT": entry, "AMT_INSTALMENT": amount[row], "AMT_PAYMENT": np.round(paid[row] * part, 3),
        },
    )
    dpd_mean = group_mean(who, np.clip(entry - due, 0, None).astype("float64"), n)

    # POS_CASH: one status row per month for ~84 % of those loans; finished loans end with "Completed".
    extra_month = (n_inst >= cnt) | (rng.random(n_inst.size) < 0.2)
    months = np.where(~revolving & (rng.random(n_inst.size) < 0.84), n_inst + extra_month, 0)
    p_loan, p_rank = expand(months)
    k = p_loan.size
    pwho = loan_parent[p_loan]
    done = p_rank >= cnt[p_loan]
    status = np.where(done, 1, np.where((p_rank == 0) & (rng.random(k) < 0.04), 2, 0))
    dpd = np.where(rng.random(k) < 0.02 * np.exp(0.9 * lateness[pwho]), np.ceil(rng.exponential(12, k)), 0)
    pos = kaggle_frame(
        POS_CASH,
        {
            "SK_ID_PREV": loan_id[p_loan], ID_COLUMN: ids[pwho],
            "MONTHS_BALANCE": np.minimum(first_due[p_loan] // 30 + p_rank, -1),
            "CNT_INSTALMENT": with_nans(rng, cnt[p_loan].astype("float64"), 0.0026),
            "CNT_INSTALMENT_FUTURE": np.clip(cnt[p_loan] - p_rank - 1, 0, None).astype("float64"),
            "NAME_CONTRACT_STATUS": as_strings(categories_of(POS_CASH, "NAME_CONTRACT_STATUS"), status),
            "SK_DPD": dpd, "SK_DPD_DEF": np.where(rng.random(k) < 0.3, dpd, 0),
        },
    )
    return pos, instalments, dpd_mean


def draw_credit_cards(rng: np.random.Generator, fragility: np.ndarray, loans: dict, ids: np.ndarray, card_holder):
    """Monthly card balances of each card holder's revolving loan (first previous application)."""
    n = ids.size
    atm = behaviour(rng, fragility, 0.7)
    card_loans = np.flatnonzero(loans["revolving"] & loans["approved"] & card_holder[loans["parent"]])
    # one card per holder: its first previous application
    first = np.unique(loans["parent"][card_loans], return_index=True)[1]
    card_loans = card_loans[first]
    owner = loans["parent"][card_loans]
    months = np.clip(rng.negative_binomial(1.6, 1.6 / (1.6 + 36.0), card_loans.size), 1, 96)
    c_loan, c_rank = expand(months)
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

    card = kaggle_frame(
        CREDIT_CARD,
        {
            "SK_ID_PREV": loans["id"][card_loans][c_loan], ID_COLUMN: ids[who],
            "MONTHS_BALANCE": -(c_rank + 1), "AMT_BALANCE": balance, "AMT_CREDIT_LIMIT_ACTUAL": limit,
            "AMT_DRAWINGS_ATM_CURRENT": drawing(amt_atm), "AMT_DRAWINGS_CURRENT": amt_atm * (~inactive) + amt_pos,
            "AMT_DRAWINGS_OTHER_CURRENT": drawing(np.zeros(k)), "AMT_DRAWINGS_POS_CURRENT": drawing(amt_pos),
            "AMT_INST_MIN_REGULARITY": with_nans(rng, minimum, 0.08),
            "AMT_PAYMENT_CURRENT": np.where(inactive, np.nan, payment),
            "AMT_PAYMENT_TOTAL_CURRENT": payment, "AMT_RECEIVABLE_PRINCIPAL": principal,
            "AMT_RECIVABLE": balance, "AMT_TOTAL_RECEIVABLE": balance,
            "CNT_DRAWINGS_ATM_CURRENT": drawing(cnt_atm), "CNT_DRAWINGS_CURRENT": cnt_atm * (~inactive) + cnt_pos,
            "CNT_DRAWINGS_OTHER_CURRENT": drawing(np.zeros(k)), "CNT_DRAWINGS_POS_CURRENT": drawing(cnt_pos),
            "CNT_INSTALMENT_MATURE_CUM": with_nans(rng, mature, 0.08),
            "NAME_CONTRACT_STATUS": as_strings(
                categories_of(CREDIT_CARD, "NAME_CONTRACT_STATUS"),
                np.where((c_rank == 0) & (rng.random(k) < 0.3), 1, 0),
            ),
            "SK_DPD": dpd, "SK_DPD_DEF": np.where(rng.random(k) < 0.4, dpd, 0),
        },
    )
    atm_mean = group_mean(who, np.where(inactive, np.nan, cnt_atm.astype("float64")), n)
    return card, atm_mean
