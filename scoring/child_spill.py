"""The child tables of a data folder, split on disk by applicant piece: raw tables scored in memory
that does not grow with the number of applicants, nor with their number of child rows.

`ChildIndex` holds the six child tables in memory (1.3 GB at 20,000 applicants, 2.9 GB at 80,000,
6 GB at the Kaggle size). `ChildSpill` reads each table once, in blocks of about `BLOCK_BYTES`
(`scoring.data.iter_table`: the same parser and checks as loading), keeps only the rows of the
applicants to score, and appends each block's rows to the file of their applicant's piece (a piece
= `piece_size` consecutive applicants of the input, in file order; bureau_balance follows its
bureau credit). `chunk_size(budget)` then says how many applicants' child rows fit in a byte budget
(measured on what was spilled: a data set with more rows per applicant gets smaller chunks), and
`restrict` reads the pieces an input chunk touches and sorts their rows by applicant (stable: each
applicant's rows in file order), without an index of the whole tables, so the features are the same
to the bit as `build_features` on `ChildIndex` (tests/serving/batch).

The files are pickled DataFrames (dtypes kept exactly) in a private temporary folder, deleted by
`close`; they are never read from anywhere else.
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.data import FIELD_OF_TABLE, Tables, find_table, iter_table, table_file_name
from scoring.schema import BUREAU, BUREAU_BALANCE, CHILD_TABLES, ID_COLUMN
from scoring.tables import BUREAU_ID, COLUMNS, empty_table

# A child-table block as parsed: its rows live three or four times at once (parsed, typed, split, pickled).
BLOCK_BYTES = 8 << 20
PIECE_SIZE = 1_000  # applicants a file: the grain of the chunks (`chunk_size` takes whole pieces)
# Child rows of an input chunk held at once: the chunk's features and the copies pandas makes while
# aggregating take about twice as much again (measured: docs/performance.md). 40 MB: 160 MB kept the
# per-chunk fixed cost of the features (then ~0.13 s) off `--cluster local`, but let 8,000 applicants fit
# in one chunk (peak memory x1.6 for 4x the applicants); that cost is now ~0.02 s (scoring.group_agg) and
# 40 MB holds both goals (docs/decisions.md, "The per-chunk cost of the features").
CHILD_BYTES_BUDGET = 40 << 20
_CELL_BYTES = {"int": 8, "float": 8, "str": 40}  # a text cell: an Arrow string of a Home Credit category


def block_rows(name: str) -> int:
    """Rows of table `name` in a block of about `BLOCK_BYTES`."""
    width = sum(_CELL_BYTES[kind] for kind in COLUMNS[name].values())
    return max(1_000, BLOCK_BYTES // width)


class _KeyMap:
    """Sorted keys and the piece of each: the piece of any key, -1 when it is not one of them."""

    def __init__(self, keys: np.ndarray, pieces: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        self.keys, self.pieces = keys[order], pieces[order]

    def __call__(self, keys: np.ndarray) -> np.ndarray:
        if not len(self.keys):
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[at] == keys, self.pieces[at], -1)


class ChildSpill:
    """The child tables of `data_dir` for the applicants `ids` (input order), split by piece on disk."""

    def __init__(self, data_dir: str | Path, ids: np.ndarray, piece_size: int = PIECE_SIZE, *,
                 block_rows: int | None = None):
        ids = np.asarray(ids, dtype=np.int64)
        unique, first = np.unique(ids, return_index=True)
        rank = np.empty(len(unique), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(unique))  # order of first appearance
        self.piece_size = max(1, int(piece_size))
        self._piece_of = _KeyMap(unique, rank // self.piece_size)
        self._applicants = np.bincount(rank // self.piece_size)  # applicants of each piece
        self._dir = Path(tempfile.mkdtemp(prefix="credit-children-"))
        self._present: dict[str, bool] = {}
        self.bytes_spilled = 0
        try:
            self._spill(Path(data_dir), block_rows)
        except BaseException:
            self.close()
            raise

    def _spill(self, data_dir: Path, rows: int | None) -> None:
        bureau_keys: list[np.ndarray] = []
        bureau_pieces: list[np.ndarray] = []
        for name in CHILD_TABLES:
            path = find_table(data_dir, name)
            self._present[name] = path is not None
            if path is None:
                warnings.warn(f"{data_dir / table_file_name(name)} not found: its features will be missing (NaN)",
                              stacklevel=3)
                continue
            piece_of = _KeyMap(np.concatenate(bureau_keys or [np.empty(0, np.int64)]),
                               np.concatenate(bureau_pieces or [np.empty(0, np.int64)])) \
                if name == BUREAU_BALANCE else self._piece_of
            key = BUREAU_ID if name == BUREAU_BALANCE else ID_COLUMN
            (self._dir / name).mkdir()
            for block in iter_table(path, name, rows or block_rows(name)):
                pieces = piece_of(block[key].to_numpy(dtype=np.int64))
                kept = np.flatnonzero(pieces >= 0)
                if not len(kept):
                    continue
                order = kept[np.argsort(pieces[kept], kind="stable")]  # a piece's rows keep the file's order
                rows_kept, pieces = block.take(order), pieces[order]
                if name == BUREAU:
                    bureau_keys.append(rows_kept[BUREAU_ID].to_numpy(dtype=np.int64))
                    bureau_pieces.append(pieces)
                starts = np.flatnonzero(np.r_[True, pieces[1:] != pieces[:-1]])
                for start, end in zip(starts, [*starts[1:], len(pieces)], strict=True):
                    with open(self._dir / name / f"{pieces[start]}.pkl", "ab") as sink:
                        pickle.dump(rows_kept.iloc[start:end], sink, protocol=pickle.HIGHEST_PROTOCOL)
        self.bytes_spilled = sum(p.stat().st_size for p in self._dir.glob("*/*.pkl"))

    def chunk_size(self, budget: int | None = None) -> int:
        """Applicants an input chunk can hold (whole pieces, at least one) for their child rows to stay
        within `budget` bytes (default `CHILD_BYTES_BUDGET`), on average over the input."""
        per_applicant = self.bytes_spilled / max(1, int(self._applicants.sum()))
        budget = CHILD_BYTES_BUDGET if budget is None else budget
        pieces = int(budget // max(1.0, per_applicant * self.piece_size))
        return self.piece_size * max(1, pieces)

    def _read(self, name: str, pieces: np.ndarray) -> pd.DataFrame | None:
        if not self._present[name]:
            return None
        frames = []
        for piece in pieces.tolist():
            path = self._dir / name / f"{piece}.pkl"
            if not path.exists():
                continue
            with open(path, "rb") as source:
                while True:
                    try:
                        frames.append(pickle.load(source))  # noqa: S301 - our own file, written above
                    except EOFError:
                        break
        if not frames:
            return empty_table(name)
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)

    def split_last_piece(self, application: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """`application` without the rows of its last piece, and those rows (the next input chunk may hold
        the rest of that piece: scored together, the piece is read once). A last piece whose applicants are
        all there already is not held back (nothing later can join it: one scoring call fewer)."""
        ids = application[ID_COLUMN].to_numpy(dtype=np.int64)
        pieces = self._piece_of(ids)
        last = pieces == pieces.max() if len(pieces) else np.zeros(0, dtype=bool)
        if last.any() and pieces.max() >= 0 and len(np.unique(ids[last])) == self._applicants[pieces.max()]:
            last[:] = False
        return application.loc[~last].reset_index(drop=True), application.loc[last].reset_index(drop=True)

    def restrict(self, application: pd.DataFrame) -> Tables:
        """`application` with the child rows of its applicants (each applicant's in file order)."""
        ids = application[ID_COLUMN].to_numpy(dtype=np.int64)
        pieces = self._piece_of(ids)
        touched = np.unique(pieces[pieces >= 0])
        children = {name: self._read(name, touched) for name in CHILD_TABLES}
        wanted = np.unique(ids[pieces >= 0])
        if len(wanted) < self._applicants[touched].sum():  # the pieces hold other applicants too
            children = _only(children, wanted)
        return Tables(application=application, **{FIELD_OF_TABLE[name]: _grouped(frame, name)
                                                  for name, frame in children.items()})

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> ChildSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _only(children: dict[str, pd.DataFrame | None], ids: np.ndarray) -> dict[str, pd.DataFrame | None]:
    """The rows of applicants `ids` (sorted) in each child table, in their order."""
    out: dict[str, pd.DataFrame | None] = {}
    for name, frame in children.items():
        if frame is None or name == BUREAU_BALANCE:
            out[name] = frame
            continue
        out[name] = frame.loc[np.isin(frame[ID_COLUMN].to_numpy(dtype=np.int64), ids)].reset_index(drop=True)
    balance, bureau = children[BUREAU_BALANCE], out[BUREAU]
    if balance is not None and bureau is not None:
        keep = np.isin(balance[BUREAU_ID].to_numpy(dtype=np.int64), bureau[BUREAU_ID].to_numpy(dtype=np.int64))
        out[BUREAU_BALANCE] = balance.loc[keep].reset_index(drop=True)
    return out


def _grouped(frame: pd.DataFrame | None, name: str) -> pd.DataFrame | None:
    """`frame` sorted by its key, each applicant's rows in file order, as `ChildIndex` gives them.

    Not only tidiness: pandas' grouped sums and means carry their rounding compensation from one row to
    the next, so an applicant's aggregate can differ in the last bit when its rows are interleaved with
    others' (measured on the real extract: 10 of 300 applicants' BUREAU_AMT_CREDIT_SUM_mean).
    """
    if frame is None or len(frame) < 2:
        return frame
    keys = frame[BUREAU_ID if name == BUREAU_BALANCE else ID_COLUMN].to_numpy(dtype=np.int64)
    if (keys[1:] >= keys[:-1]).all():
        return frame
    return frame.take(np.argsort(keys, kind="stable")).reset_index(drop=True)
