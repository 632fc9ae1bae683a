"""The whole twin: applicants, their child tables, the true probability and TARGET drawn from it."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scoring import config
from scoring.data import FIELD_OF_TABLE, Tables
from scoring.features import application_features
from scoring.schema import ID_COLUMN, TARGET_COLUMN
from scoring.synthetic.applicants import draw_applicants
from scoring.synthetic.bureau import draw_bureau
from scoring.synthetic.previous import draw_previous
from scoring.synthetic.repayments import draw_credit_cards, draw_repayments
from scoring.synthetic.risk import risk_probability
from scoring.tables import table_file_name

FIRST_ID_CURR = 100002
FIRST_ID_BUREAU = 5000000
FIRST_ID_PREV = 1000000


@dataclass
class SyntheticData:
    """The twin: the tables (application with TARGET) and the known default probability."""

    tables: Tables
    true_probability: pd.Series  # indexed by SK_ID_CURR
    test_application: pd.DataFrame | None = None  # application_test-like rows (no TARGET)


def _application_risk_inputs(app: pd.DataFrame) -> pd.DataFrame:
    """The application-level inputs of the risk function, computed as scoring.features does."""

    return application_features(app)


@dataclass
class _Part:
    tables: Tables
    probability: np.ndarray
    next_ids: tuple[int, int, int]


def _generate_part(rng: np.random.Generator, n: int, first_ids: tuple[int, int, int], bar) -> _Part:
    first_curr, first_bureau, first_prev = first_ids
    people = draw_applicants(rng, n, first_curr)
    app = people.table
    ids = app[ID_COLUMN].to_numpy()
    bar.update()
    bureau, balance, overdue_max = draw_bureau(rng, people.fragility, first_bureau, ids)
    bar.update()
    card_holder = rng.random(n) < 0.336
    prev, loans, refused_share = draw_previous(rng, people.fragility, first_prev, ids, card_holder)
    bar.update()
    pos, instalments, dpd_mean = draw_repayments(rng, people.fragility, loans, ids)
    bar.update()
    card, atm_mean = draw_credit_cards(rng, people.fragility, loans, ids, card_holder)
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
