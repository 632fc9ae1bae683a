"""The child tables of a data folder, split on disk by applicant chunk: raw tables scored in memory
that does not grow with the number of applicants.

`ChildIndex` holds the six child tables in memory (1.3 GB at 20,000 applicants, 2.9 GB at 80,000,
6 GB at the Kaggle size). `ChildSpill` reads each table once, in blocks (`scoring.data.iter_table`:
the same parser and checks as loading), keeps only the rows of the applicants to score, and
appends each block's rows to the file of their applicant's chunk (a chunk = `chunk_size`
consecutive applicants of the input, in file order; bureau_balance follows its bureau credit).
`restrict` then reads the files of the chunks an input chunk touches and restricts them with a
`ChildIndex`: the rows of one applicant keep the file's order, so the features are the same to the
bit as `build_features` on the whole tables (tests/serving/batch). Peak memory: a block, plus the
child rows of about two chunks.

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

from scoring.child_index import ChildIndex
from scoring.data import FIELD_OF_TABLE, Tables, find_table, iter_table, table_file_name
from scoring.schema import BUREAU, BUREAU_BALANCE, CHILD_TABLES, ID_COLUMN
from scoring.tables import BUREAU_ID, empty_table

BLOCK_ROWS = 100_000  # rows of a child table parsed at once: about 60 MB for the widest (previous_application)


class _KeyMap:
    """Sorted keys and the chunk of each: the chunk of any key, -1 when it is not one of them."""

    def __init__(self, keys: np.ndarray, chunks: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        self.keys, self.chunks = keys[order], chunks[order]

    def __call__(self, keys: np.ndarray) -> np.ndarray:
        if not len(self.keys):
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[at] == keys, self.chunks[at], -1)


class ChildSpill:
    """The child tables of `data_dir` for the applicants `ids` (input order), split by chunk on disk."""

    def __init__(self, data_dir: str | Path, ids: np.ndarray, chunk_size: int, *, block_rows: int = BLOCK_ROWS):
        ids = np.asarray(ids, dtype=np.int64)
        unique, first = np.unique(ids, return_index=True)
        rank = np.empty(len(unique), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(unique))  # order of first appearance
        self._chunk_of = _KeyMap(unique, rank // max(1, int(chunk_size)))
        self._dir = Path(tempfile.mkdtemp(prefix="credit-children-"))
        self._present: dict[str, bool] = {}
        self._cached: tuple[frozenset[int], ChildIndex] | None = None
        try:
            self._spill(Path(data_dir), block_rows)
        except BaseException:
            self.close()
            raise

    def _spill(self, data_dir: Path, block_rows: int) -> None:
        bureau_keys: list[np.ndarray] = []
        bureau_chunks: list[np.ndarray] = []
        for name in CHILD_TABLES:
            path = find_table(data_dir, name)
            self._present[name] = path is not None
            if path is None:
                warnings.warn(f"{data_dir / table_file_name(name)} not found: its features will be missing (NaN)",
                              stacklevel=3)
                continue
            key_of = _KeyMap(np.concatenate(bureau_keys or [np.empty(0, np.int64)]),
                             np.concatenate(bureau_chunks or [np.empty(0, np.int64)])) \
                if name == BUREAU_BALANCE else self._chunk_of
            key = BUREAU_ID if name == BUREAU_BALANCE else ID_COLUMN
            (self._dir / name).mkdir()
            for block in iter_table(path, name, block_rows):
                chunks = key_of(block[key].to_numpy(dtype=np.int64))
                if name == BUREAU:
                    kept = chunks >= 0
                    bureau_keys.append(block[BUREAU_ID].to_numpy(dtype=np.int64)[kept])
                    bureau_chunks.append(chunks[kept])
                for chunk in np.unique(chunks[chunks >= 0]).tolist():
                    with open(self._dir / name / f"{chunk}.pkl", "ab") as sink:
                        pickle.dump(block.loc[chunks == chunk], sink, protocol=pickle.HIGHEST_PROTOCOL)

    def _read(self, name: str, chunks: list[int]) -> pd.DataFrame | None:
        if not self._present[name]:
            return None
        frames = []
        for chunk in chunks:
            path = self._dir / name / f"{chunk}.pkl"
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

    def _index(self, chunks: frozenset[int]) -> ChildIndex:
        """The child rows of `chunks`, indexed (the last set is kept: consecutive input chunks share one)."""
        if self._cached is None or self._cached[0] != chunks:
            self._cached = None  # let the previous one go before reading the next
            ordered = sorted(chunks)
            children = {FIELD_OF_TABLE[name]: self._read(name, ordered) for name in CHILD_TABLES}
            empty = pd.DataFrame({ID_COLUMN: pd.Series(dtype="int64")})
            self._cached = (chunks, ChildIndex(Tables(application=empty, **children)))
        return self._cached[1]

    def restrict(self, application: pd.DataFrame) -> Tables:
        """`application` with its child rows, as `Tables.from_index` gives them from the whole tables."""
        ids = application[ID_COLUMN].to_numpy(dtype=np.int64)
        chunks = self._chunk_of(ids)
        return Tables.from_index(application, self._index(frozenset(np.unique(chunks[chunks >= 0]).tolist())))

    def close(self) -> None:
        self._cached = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> ChildSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
