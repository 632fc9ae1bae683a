"""The partitioned layout (`python -m scoring.partition`) and the small pure parts of the cluster code."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cluster import ClusterError, connect, parse_spec
from cluster.batch import input_files
from cluster.features import open_layout
from cluster.training import split_of
from scoring import data, synthetic
from scoring.partition import PARTITIONING_FILE, convert_dir, main, part_name
from scoring.tables import BUREAU_ID
from tests.cluster.conftest import PARTS
from tests.helpers import free_port


def test_every_row_of_an_applicant_is_in_its_part(layout, twin):
    doc = json.loads((layout / PARTITIONING_FILE).read_text())
    assert doc["parts"] == PARTS
    for name, frame in twin.tables.items():
        assert doc["tables"][name] == len(frame)
    bureau_part = {}
    for part in range(PARTS):
        tables = data.load_tables(layout / part_name(part), progress=False)
        for field in ("application", "bureau", "previous_application", "pos_cash", "installments", "credit_card"):
            ids = getattr(tables, field)[data.ID_COLUMN].to_numpy()
            assert (ids % PARTS == part).all(), field
        bureau_part.update(dict.fromkeys(tables.bureau[BUREAU_ID], part))
        balance_parts = {bureau_part.get(b) for b in tables.bureau_balance[BUREAU_ID]}
        assert balance_parts <= {part}
    test_rows = sum(len(pd.read_parquet(layout / part_name(p) / "application_test.parquet")) for p in range(PARTS))
    assert test_rows == len(twin.test_application)


def test_converting_kaggle_files_gives_the_same_parts(tmp_path, twin):
    small = twin.tables.restrict(twin.tables.application["SK_ID_CURR"].iloc[:300])
    synthetic.write_tables(small, tmp_path / "csv")
    doc = convert_dir(tmp_path / "csv", tmp_path / "parts", 3)
    assert doc["source"]["kind"] == "kaggle" and doc["tables"]["application_train"] == 300
    back = pd.concat([pd.read_parquet(tmp_path / "parts" / part_name(p) / "bureau.parquet") for p in range(3)])
    assert sorted(back["SK_ID_BUREAU"]) == sorted(small.bureau["SK_ID_BUREAU"])


def test_converting_the_real_extract(tmp_path, homecredit_sample):
    doc = convert_dir(homecredit_sample, tmp_path, 2)
    assert doc["tables"]["application_train"] == 1000
    tables = data.load_tables(tmp_path / part_name(1), progress=False)
    assert (tables.application["SK_ID_CURR"] % 2 == 1).all()


def test_cli_refuses_bad_options_and_missing_data(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--parts", "0"])
    assert main(["--out", str(tmp_path / "o"), "--data-dir", str(tmp_path)]) == 2
    assert "no application_train" in capsys.readouterr().err
    with pytest.raises(data.DataError, match="python -m scoring.partition"):
        open_layout(tmp_path)


def test_cli_writes_a_layout(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--applicants", "200", "--parts", "2", "--quiet"]) == 0
    assert "2 parts" in capsys.readouterr().out
    assert open_layout(tmp_path).tables["application_train"] == 200


def test_split_is_deterministic_and_proportionate():
    ids = np.arange(100_000, 160_000)
    split = split_of(ids, 42, 0.2, 5)
    assert np.array_equal(split, split_of(ids[::-1], 42, 0.2, 5)[::-1])  # a row's split ignores its neighbours
    assert abs((split == -1).mean() - 0.2) < 0.01
    assert all(abs((split == k).mean() - 0.16) < 0.01 for k in range(5))
    assert not np.array_equal(split, split_of(ids, 43, 0.2, 5))


@pytest.mark.parametrize(("spec", "expected"), [
    ("local:2x3GB", {"local": True, "n_workers": 2, "memory_limit": "3GB"}),
    ("tcp://10.0.0.5:8786", {"address": "tcp://10.0.0.5:8786"}),
    ("scheduler:8786", {"address": "tcp://scheduler:8786"}),
])
def test_cluster_specs(spec, expected):
    assert parse_spec(spec) == expected
    assert parse_spec("local")["local"]


@pytest.mark.parametrize("spec", ["local:2", "local:0x1GB", "lokal", "http//x"])
def test_bad_cluster_specs(spec):
    with pytest.raises(ValueError, match="--cluster"):
        parse_spec(spec)


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(ClusterError, match="cannot reach"), connect(f"tcp://127.0.0.1:{free_port()}", timeout=2):
        pass


def test_a_scheduler_without_workers_is_a_clear_error():
    from cluster import local_cluster

    with (local_cluster(0) as empty, pytest.raises(ClusterError, match="no Dask worker joined"),
          connect(empty.scheduler_address, timeout=1)):
        pass


def test_input_files(tmp_path):
    (tmp_path / "b.csv").write_text("SK_ID_CURR\n1\n")
    (tmp_path / "a.parquet").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in input_files(tmp_path)] == ["a.parquet", "b.csv"]
    assert [p.name for p in input_files(f"{tmp_path}/*.csv")] == ["b.csv"]
    from serving.batch import BatchInputError

    with pytest.raises(BatchInputError, match="no .csv"):
        input_files(tmp_path / "empty*")
