"""`build_features` to the bit: the features of fixed tables are those of the code at 260d10d (pandas'
per-column `groupby.agg`), frozen as one digest per column in `features_260d10d.json`.

The aggregation engine changed for speed (`scoring.group_agg`); these cases hold it to the old
values: the twin whole and as a small chunk (applicants with few rows), and the real extract
(../shared/data/homecredit_5k: skipped when absent) whole and as small chunks. A failure names
the columns that moved. `python -m tests.scoring.data.test_features_frozen` rewrites the file
(only for a change of the features that is meant).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring import synthetic
from scoring.child_index import ChildIndex
from scoring.data import Tables, load_tables
from scoring.features import build_features
from scoring.schema import ID_COLUMN
from tests.helpers import SHARED_SAMPLE

FROZEN = Path(__file__).with_name("features_260d10d.json")
REAL = SHARED_SAMPLE.parent / "homecredit_5k"
TWIN_CASES = ("twin", "twin_first_37", "twin_every_7th")
REAL_CASES = ("real", "real_first_300", "real_every_50th")


def digests(frame: pd.DataFrame) -> dict[str, str]:
    """Per column, a digest of its float64 bytes (NaN and -0.0 included); "__index__" and "__columns__"."""
    out = {"__index__": hashlib.sha256(frame.index.to_numpy(dtype=np.int64).tobytes()).hexdigest()[:16],
           "__columns__": hashlib.sha256("\n".join(frame.columns).encode()).hexdigest()[:16],
           "__dtypes__": ",".join(sorted({str(d) for d in frame.dtypes}))}
    for name in frame.columns:
        values = np.ascontiguousarray(frame[name].to_numpy(dtype=np.float64))
        out[name] = hashlib.sha256(values.tobytes()).hexdigest()[:16]
    return out


def _chunk(tables: Tables, rows: slice) -> Tables:
    """The applicants `rows` of `tables.application` with their child rows (as the batch gives them)."""
    index = ChildIndex(Tables(**{**vars(tables), "application": tables.application.iloc[:0]}))
    return Tables.from_index(tables.application.iloc[rows].reset_index(drop=True), index)


def twin_tables() -> Tables:
    return synthetic.generate(400, 5, progress=False, test_applicants=50).tables


def real_tables() -> Tables:
    return load_tables(REAL, progress=False)


def cases(tables: Tables, names: tuple[str, ...]) -> dict[str, Tables]:
    whole, first, every = names
    return {whole: tables, first: _chunk(tables, slice(0, 37 if "twin" in whole else 300)),
            every: _chunk(tables, slice(0, None, 7 if "twin" in whole else 50))}


def _check(case: str, tables: Tables) -> None:
    frozen = json.loads(FROZEN.read_text(encoding="utf-8"))[case]
    got = digests(build_features(tables, progress=False))
    moved = sorted(k for k in frozen.keys() | got.keys() if frozen.get(k) != got.get(k))
    assert not moved, f"{case}: {len(moved)} columns differ from 260d10d: {moved[:12]}"


@pytest.fixture(scope="module")
def twin_cases() -> dict[str, Tables]:
    return cases(twin_tables(), TWIN_CASES)


@pytest.fixture(scope="module")
def real_cases() -> dict[str, Tables]:
    if not (REAL / "application_train.csv.gz").is_file():
        pytest.skip("the real extract ../shared/data/homecredit_5k is not here")
    return cases(real_tables(), REAL_CASES)


@pytest.mark.parametrize("case", TWIN_CASES)
def test_twin_features_equal_to_before(twin_cases, case):
    _check(case, twin_cases[case])


@pytest.mark.parametrize("case", REAL_CASES)
def test_real_features_equal_to_before(real_cases, case):
    _check(case, real_cases[case])


def test_a_changed_value_is_seen(twin_cases):
    """The check can fail: one bureau amount moved by 1e-12 of itself changes only the columns built from it."""
    tables = twin_cases["twin_first_37"]
    bureau = tables.bureau.copy()
    row = int(np.flatnonzero(bureau["AMT_CREDIT_SUM"].notna().to_numpy())[0])
    bureau.loc[row, "AMT_CREDIT_SUM"] = bureau.loc[row, "AMT_CREDIT_SUM"] * (1 + 1e-12)
    before = digests(build_features(tables, progress=False))
    after = digests(build_features(Tables(**{**vars(tables), "bureau": bureau}), progress=False))
    moved = {k for k in before if before[k] != after[k]}
    assert moved and all(k.startswith(("BUREAU_AMT_CREDIT_SUM", "BUREAU_ACTIVE_AMT_CREDIT_SUM")) for k in moved)
    assert tables.application[ID_COLUMN].is_unique


def main() -> int:
    frozen = {case: digests(build_features(t, progress=False)) for case, t in cases(twin_tables(), TWIN_CASES).items()}
    if (REAL / "application_train.csv.gz").is_file():
        frozen |= {case: digests(build_features(t, progress=False))
                   for case, t in cases(real_tables(), REAL_CASES).items()}
    FROZEN.write_text(json.dumps(frozen, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{FROZEN}: {', '.join(frozen)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
