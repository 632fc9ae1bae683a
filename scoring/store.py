"""Feature store of known applicants: one SQLite row per SK_ID_CURR, read back in microseconds.

Each applicant's full feature vector (float32 in the model's column order, a blob read with
`np.frombuffer`) and their raw application row (a JSON array in the column order kept in the
`meta` table), each zlib-compressed, are stored with the model version and feature list the rows were built for
(`scoring.store_build.build_store` writes the file). `FeatureStore.lookup` returns a `Dossier`;
`FeatureStore.what_if` recomputes the application-derived features of a dossier whose negotiable
amounts an adviser changed, with the same `scoring.features.application_features` as training,
and writes the form features on top.

SQLite (standard library) was chosen over DuckDB by measuring point look-ups at the Kaggle size:
see `benchmarks/bench_store.py` and the README's "Feature store" section.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from scoring.data import CATEGORIES, DAYS_SENTINEL, empty_table
from scoring.features import application_features, application_row
from scoring.schema import APPLICATION_TEST, APPLICATION_TRAIN, MAY_BE_UNKNOWN, UI_FEATURE_NAMES

STORE_FORMAT = 1
CODECS = ("zlib", "none")  # how the row and raw values are stored (meta "codec")
# Application fields an adviser negotiates: a what-if may change them (derived features recomputed).
NEGOTIABLE_FIELDS: tuple[str, ...] = ("AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE")
WHAT_IF_FIELDS: tuple[str, ...] = UI_FEATURE_NAMES + NEGOTIABLE_FIELDS
DAYS_PER_YEAR = 365.25

# The facts an adviser reads first: raw application columns, plus the age and the years employed.
AGE_YEARS = "AGE_YEARS"
YEARS_EMPLOYED = "YEARS_EMPLOYED"
FACT_LABELS: dict[str, str] = {
    AGE_YEARS: "Âge (ans)",
    "CODE_GENDER": "Genre",
    "NAME_FAMILY_STATUS": "Situation familiale",
    "CNT_CHILDREN": "Enfants",
    "CNT_FAM_MEMBERS": "Personnes au foyer",
    "NAME_EDUCATION_TYPE": "Niveau d'études",
    "NAME_INCOME_TYPE": "Type de revenu",
    "OCCUPATION_TYPE": "Profession",
    YEARS_EMPLOYED: "Ancienneté dans l'emploi (ans)",
    "AMT_INCOME_TOTAL": "Revenu annuel (€)",
    "NAME_CONTRACT_TYPE": "Type de contrat",
    "AMT_CREDIT": "Montant du crédit (€)",
    "AMT_ANNUITY": "Annuité (€)",
    "AMT_GOODS_PRICE": "Prix du bien (€)",
    "NAME_HOUSING_TYPE": "Logement",
    "FLAG_OWN_REALTY": "Propriétaire de son logement",
    "FLAG_OWN_CAR": "Possède une voiture",
}


class StoreError(RuntimeError):
    """The feature store is missing, unreadable, corrupt or built for another model."""


@dataclass(frozen=True, eq=False)
class Dossier:
    """A known applicant: the model row and the raw application fields."""

    sk_id_curr: int
    row: np.ndarray  # float32 (n_features,), model order, read-only
    facts: dict[str, Any]  # FACT_LABELS keys: raw application fields, age and years employed
    raw: dict[str, Any]  # the whole raw application row (without TARGET), for what-if


def facts_of(raw: dict[str, Any]) -> dict[str, Any]:
    """The adviser's facts of a raw application row: `FACT_LABELS` keys, missing values None."""
    facts: dict[str, Any] = {}
    for key in FACT_LABELS:
        if key == AGE_YEARS:
            born = raw.get("DAYS_BIRTH")
            facts[key] = None if born is None else round(-born / DAYS_PER_YEAR, 1)
        elif key == YEARS_EMPLOYED:
            employed = raw.get("DAYS_EMPLOYED")
            valid = employed is not None and employed != DAYS_SENTINEL
            facts[key] = round(-employed / DAYS_PER_YEAR, 1) if valid else None
        else:
            facts[key] = raw.get(key)
    return facts


def _connect(path: Path) -> tuple[sqlite3.Connection, dict[str, str]]:
    if not path.is_file():
        raise StoreError(f"{path}: feature store not found; build it with `python build_store.py` "
                         f"(or `python train.py`, which writes it next to the model)")
    # immutable: never changed in place (a rebuild renames a new file over it; this connection keeps the
    # old one), so SQLite skips its file locks: half the cost of a look-up (bench_store.py).
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        conn.execute("SELECT sk_id_curr, row, raw FROM applicants LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"{path}: not a readable feature store ({exc}); rebuild it with `python build_store.py`") \
            from exc
    return conn, meta


class FeatureStore:
    """A read-only feature store file; safe to share between threads."""

    def __init__(self, path: Path, conn: sqlite3.Connection, meta: dict[str, str]) -> None:
        self.path = path
        self._conn = conn
        self._lock = threading.Lock()
        try:
            if int(meta["format"]) != STORE_FORMAT:
                raise StoreError(f"{path}: store format {meta['format']}, this code reads {STORE_FORMAT}; "
                                 f"rebuild it with `python build_store.py`")
            self.codec: str = meta.get("codec", "none")
            if self.codec not in CODECS:
                raise StoreError(f"{path}: unknown codec {self.codec!r}; rebuild it with `python build_store.py`")
            self.model_version: str = meta["model_version"]
            self.features: list[str] = json.loads(meta["features"])
            self.raw_columns: list[str] = json.loads(meta["raw_columns"])
            self.info: dict[str, Any] = json.loads(meta.get("info") or "{}")
        except (KeyError, ValueError, TypeError) as exc:
            raise StoreError(f"{path}: incomplete store metadata ({exc!r}); rebuild it with "
                             f"`python build_store.py`") from exc
        self._row_bytes = 4 * len(self.features)
        self._index = {name: j for j, name in enumerate(self.features)}
        # Application-derived features: where they go in the model row (model position, column of
        # `application_features`). Computed on an empty table, so the list follows the feature code.
        derived = list(application_features(empty_table(APPLICATION_TEST)).columns)
        pairs = [(self._index[name], k) for k, name in enumerate(derived) if name in self._index]
        self._app_model_pos = np.array([j for j, _ in pairs], dtype=np.intp)
        self._app_frame_pos = np.array([k for _, k in pairs], dtype=np.intp)
        # One-hot application features -> (raw column, category), for what-if edits of the raw row.
        self._option_of: dict[str, tuple[str, str]] = {
            f"{column}_{category}": (column, category)
            for column, categories in CATEGORIES[APPLICATION_TRAIN].items() for category in categories}

    @classmethod
    def open(cls, path: str | Path, *, features: list[str] | None = None,
             model_version: str | None = None) -> FeatureStore:
        """Open the store at `path`; with `features` / `model_version`, refuse a store built for others."""
        path = Path(path)
        conn, meta = _connect(path)
        try:
            store = cls(path, conn, meta)
            if features is not None and list(features) != store.features:
                raise StoreError(f"{path}: built for {len(store.features)} features that are not the model's "
                                 f"{len(features)} (other names or order); rebuild it with `python build_store.py`")
            if model_version is not None and model_version != store.model_version:
                raise StoreError(f"{path}: built for model {store.model_version}, the model is {model_version}; "
                                 f"rebuild it with `python build_store.py`")
        except Exception:
            conn.close()
            raise
        return store

    def __len__(self) -> int:
        """Applicants stored (recorded at build time: counting would read the whole file)."""
        if "applicants" not in self.info:
            with self._lock:
                self.info["applicants"] = int(self._conn.execute("SELECT count(*) FROM applicants").fetchone()[0])
        return int(self.info["applicants"])

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.path)!r}, model_version={self.model_version!r})"

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def ids(self, limit: int = 20) -> list[int]:
        """The first `limit` known SK_ID_CURR, ascending."""
        with self._lock:
            rows = self._conn.execute("SELECT sk_id_curr FROM applicants ORDER BY sk_id_curr LIMIT ?",
                                      (int(limit),)).fetchall()
        return [int(r[0]) for r in rows]

    def lookup(self, sk_id_curr: int) -> Dossier | None:
        """The applicant `sk_id_curr`, or None when unknown."""
        key = int(sk_id_curr)
        if not -(2**63) <= key < 2**63:
            return None
        try:
            with self._lock:
                found = self._conn.execute("SELECT row, raw FROM applicants WHERE sk_id_curr = ?", (key,)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot be read ({exc})") from exc
        return None if found is None else self.decode(key, *found)

    def decode(self, sk_id_curr: int, blob: bytes, raw_data: bytes | str) -> Dossier:
        """The `Dossier` of a stored (row, raw) pair."""
        try:
            if self.codec == "zlib":
                blob, raw_data = zlib.decompress(blob), zlib.decompress(raw_data)
            raw = dict(zip(self.raw_columns, orjson.loads(raw_data), strict=True))  # 4x json's speed
        except (zlib.error, ValueError, TypeError) as exc:
            raise StoreError(f"{self.path}: applicant {sk_id_curr} cannot be read ({exc}); the file is corrupt") \
                from exc
        if len(blob) != self._row_bytes:
            raise StoreError(f"{self.path}: applicant {sk_id_curr} has a row of {len(blob)} bytes, "
                             f"expected {self._row_bytes}; the file is corrupt")
        return Dossier(sk_id_curr=sk_id_curr, row=np.frombuffer(blob, dtype=np.float32), facts=facts_of(raw),
                       raw=raw)

    def what_if(self, dossier: Dossier, overrides: dict[str, float]) -> np.ndarray:
        """The dossier's row with `overrides` (form features and `NEGOTIABLE_FIELDS`) applied; a new float32 row.

        Overrides of application fields edit the raw application row: amounts and scores replace its
        values, a one-hot option set to 1 becomes the column's category (so its siblings are 0, as the
        form's exclusive groups do) and an option the applicant holds set to 0 leaves the column
        empty (every option 0). When the raw row changed, its application features are recomputed by
        `application_features` (credit/income, payment rate, ...) exactly as `build_features` would
        for the edited row. Child-table aggregates keep the applicant's own values unless overridden
        (form features such as card ATM drawings), which are written on top.
        """
        unknown = sorted(set(overrides) - set(WHAT_IF_FIELDS))
        if unknown:
            raise ValueError(f"cannot override {', '.join(unknown)}; a what-if changes {', '.join(WHAT_IF_FIELDS)}")
        raw = dict(dossier.raw)
        on_top: dict[str, float] = {}
        chosen: dict[str, str] = {}
        # Options set to 0 first, so that {"CODE_GENDER_F": 0, "CODE_GENDER_M": 1} reads as "M".
        for name, value in sorted(overrides.items(), key=lambda item: item[1] == 1):
            if not isinstance(value, int | float | np.number) or math.isinf(value) or (
                    math.isnan(value) and name not in MAY_BE_UNKNOWN):
                raise ValueError(f"{name}: expected a finite number, got {value!r}")
            value = float(value)
            if name in self.raw_columns:
                raw[name] = value
            elif name in self._option_of:
                column, category = self._option_of[name]
                if value not in (0.0, 1.0):
                    raise ValueError(f"{name}: expected 0 or 1, got {value!r}")
                if value == 1.0:
                    if column in chosen:
                        raise ValueError(f"{chosen[column]} and {name} are both 1: one {column} at most")
                    chosen[column] = name
                    raw[column] = category
                elif raw.get(column) == category:
                    raw[column] = None
            else:
                on_top[name] = value
        row = np.array(dossier.row, dtype=np.float32, copy=True)
        if raw != dossier.raw:
            derived = application_row(raw)
            row[self._app_model_pos] = derived[self._app_frame_pos]
        for name, value in on_top.items():
            row[self._index[name]] = value
        return row

