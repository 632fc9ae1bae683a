"""A synthetic twin of the seven Home Credit tables, with a known default probability.

Same file names, columns and dtypes as the Kaggle files (`scoring.tables.COLUMNS`), marginals close
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

Modules: `risk` (the known risk function), `draws` (vectorised drawing helpers), `applicants`
(the application table), `bureau`, `previous` and `repayments` (the child tables), `twin` (the
whole twin: `generate`, `write_tables`), `cli` (the command line).
"""

from scoring.synthetic.cli import DEFAULT_TEST_APPLICANTS, main
from scoring.synthetic.draws import map_to_quantiles
from scoring.synthetic.risk import RISK_FEATURES, RISK_INTERCEPT, risk_logit, risk_probability
from scoring.synthetic.twin import FIRST_ID_BUREAU, FIRST_ID_CURR, FIRST_ID_PREV, SyntheticData, generate, write_tables

__all__ = [
    "DEFAULT_TEST_APPLICANTS",
    "FIRST_ID_BUREAU",
    "FIRST_ID_CURR",
    "FIRST_ID_PREV",
    "RISK_FEATURES",
    "RISK_INTERCEPT",
    "SyntheticData",
    "generate",
    "main",
    "map_to_quantiles",
    "risk_logit",
    "risk_probability",
    "write_tables",
]
