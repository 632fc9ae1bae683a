"""Once: a scheduler and two workers started with Dask's own commands, driven by train.py and inference.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

import inference
from scoring import config
from scoring.partition import write_twin
from serving.predictor import Predictor
from tests.cluster.conftest import read_parts
from tests.helpers import PROJECT_ROOT, free_port, run_main

pytestmark = pytest.mark.slow


@pytest.fixture
def dask_commands(tmp_path):
    """`dask scheduler` on a free loopback port and two `dask worker` processes; yields the address."""
    distributed = pytest.importorskip("distributed")
    dask_cli = shutil.which("dask")
    if dask_cli is None:
        pytest.skip("the `dask` command is not on PATH")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}  # the workers run the project's code
    common = {"cwd": tmp_path, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0"], **common)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen([dask_cli, "worker", address, "--host", "127.0.0.1", "--nworkers", "1",
                                           "--nthreads", "1", "--memory-limit", "1.5GB", "--dashboard-address", ":0"],
                                          **common))
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_train_and_score_on_dask_commands(dask_commands, tmp_path):
    layout = tmp_path / "layout"
    write_twin(layout, 2, applicants=800, seed=3, test_applicants=100)
    model_dir = tmp_path / "model"
    run = subprocess.run([sys.executable, "train.py", "--cluster", dask_commands, "--data-dir", str(layout),
                          "--model-dir", str(model_dir), "--folds", "2", "--quiet"],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    assert '"auc"' in run.stdout
    predictor = Predictor.from_dir(model_dir)
    assert len(predictor.features) == len(Predictor.from_dir(config.MODELS_DIR).features)

    inputs = f"{layout}/part-*/application_test.parquet"
    out = tmp_path / "scores"
    run = subprocess.run([sys.executable, "inference.py", "--cluster", dask_commands, "--input", inputs,
                          "--data-dir", str(layout), "--model-dir", str(model_dir), "--output", str(out), "--quiet"],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "100 of 100 applicants scored from 2 files" in run.stdout
    assert len(read_parts(out)) == 100


def test_a_bad_cluster_address_is_exit_2_and_touches_no_output(tmp_path, monkeypatch):
    """inference.main(argv) in this process (the command's own start-up is the test above)."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("SK_ID_CURR\n100002\n")
    earlier = tmp_path / "scores"
    earlier.mkdir()
    (earlier / "part-00000.csv").write_text("SK_ID_CURR,score\n1,0.5\n")  # an earlier run's results
    monkeypatch.setenv("CLUSTER_TIMEOUT", "2")  # nobody listens: no need to wait the default 30 s
    for output in (earlier, tmp_path / "new_scores"):
        run = run_main(inference.main, "--cluster", f"tcp://127.0.0.1:{free_port()}", "--input", str(tmp_path / "in"),
                       "--model-dir", str(config.MODELS_DIR), "--output", str(output))
        assert run.returncode == 2
        assert "cannot reach the Dask scheduler" in run.stderr
        assert "after 2 s" in run.stderr  # CLUSTER_TIMEOUT was read
    assert (earlier / "part-00000.csv").read_text() == "SK_ID_CURR,score\n1,0.5\n"  # nothing lost
    assert not (tmp_path / "new_scores").exists()  # nothing made
