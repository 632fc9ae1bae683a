"""A worker killed while batch scoring: its tasks run again elsewhere and no row is lost or repeated."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

from cluster.batch import score_on_cluster
from scoring import config
from serving.batch import score_file
from serving.predictor import Predictor
from tests.cluster.conftest import SCORE_TOLERANCE, read_parts

pytestmark = pytest.mark.slow
FILES = 16


def test_killed_worker_loses_no_row(layout, flat_dir, twin, tmp_path):
    distributed = pytest.importorskip("distributed")
    folder = tmp_path / "in"
    folder.mkdir()
    app = twin.test_application
    for i, chunk in enumerate(np.array_split(np.arange(len(app)), FILES)):
        app.iloc[chunk].to_csv(folder / f"apps_{i:02d}.csv", index=False)
    app.to_csv(tmp_path / "all.csv", index=False)

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="1.5GB",
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        pids_before = client.run(os.getpid)
        result: dict = {}
        job = threading.Thread(target=lambda: result.update(report=score_on_cluster(
            folder, tmp_path / "out", cluster=cluster.scheduler_address, model_dir=config.MODELS_DIR,
            data_dir=layout, progress=False)))
        job.start()
        victim, busy = None, []
        deadline = time.monotonic() + 300
        while victim is None and time.monotonic() < deadline and job.is_alive():
            for address, keys in client.processing().items():
                busy = [k for k in keys if "score_part" in str(k)]
                if busy:
                    victim = address
                    break
            time.sleep(0.05)
        assert victim is not None, "no scoring task was seen running"
        os.kill(pids_before[victim], signal.SIGKILL)
        job.join(timeout=600)
        assert not job.is_alive()
        pids_after = client.run(os.getpid)

    assert pids_before[victim] not in pids_after.values()  # the worker really died (its nanny started another)
    report = result["report"]
    single = score_file(tmp_path / "all.csv", tmp_path / "single.csv", predictor=Predictor.from_dir(config.MODELS_DIR),
                        data_dir=flat_dir, progress=False)
    assert report.rows == report.scored == single.scored == len(app)
    assert not report.errors
    scores = read_parts(tmp_path / "out")
    expected = pd.read_csv(tmp_path / "single.csv").set_index("SK_ID_CURR").sort_index()
    assert list(scores.index) == list(expected.index)  # every applicant once: none lost, none twice
    assert np.abs(scores["score"] - expected["score"]).max() <= SCORE_TOLERANCE
