"""The cluster paths on a real LocalCluster (2 worker processes) against the single-process ones."""

from __future__ import annotations

import json
import os
import threading

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import train
from cluster import connect
from cluster.batch import score_on_cluster
from cluster.features import feature_frame, open_layout
from cluster.training import split_of
from scoring import config, features
from scoring.artifacts import load_artifacts
from scoring.schema import ARTIFACT_FILES
from scoring.training import TrainConfig, train_model
from serving.batch import score_file
from serving.predictor import Predictor
from tests.cluster.conftest import PARTS, SCORE_TOLERANCE, SEED, read_parts

pytestmark = pytest.mark.slow
FOLDS = 2


@pytest.fixture(scope="module")
def single_features(twin):
    return features.build_features(twin.tables, progress=False).sort_index()


@pytest.fixture(scope="module")
def cluster_model(local_cluster, layout, tmp_path_factory):
    out = tmp_path_factory.mktemp("cluster-model")
    rc = train.main(["--cluster", local_cluster, "--data-dir", str(layout), "--model-dir", str(out),
                     "--folds", str(FOLDS), "--seed", str(SEED), "--quiet"])
    assert rc == 0
    return out


def test_cluster_features_equal_single_process(local_cluster, layout, single_features):
    from distributed import Client

    with Client(local_cluster) as client:
        frame = client.compute(feature_frame(open_layout(layout)), sync=True)
    frame = frame.sort_index()
    pd.testing.assert_frame_equal(frame[single_features.columns], single_features)
    assert frame["_TRUE_PROBABILITY"].notna().all()


def test_cluster_model_is_served_and_as_good_as_single_process(cluster_model, twin, single_features):
    artifacts = load_artifacts(cluster_model)  # manifest, checksums, feature list
    # train.py leaves gender out by default, on the cluster too (recorded for fairness, never scored)
    assert artifacts.features == [c for c in single_features.columns if not c.startswith("CODE_GENDER_")]
    assert {p.name for p in cluster_model.iterdir()} >= set(ARTIFACT_FILES) | {"roc.png", "cost_threshold.png"}
    # one assessment for both ways of training (scoring.assessment): the same figures, the report and
    # the audit; what the cluster cannot compute is named under not_computed
    core = {"auc", "cv_auc", "baseline_ext_source_logreg_cv_auc", "threshold", "business_cost_per_applicant",
            "recall", "precision", "confusion", "calibration", "data_source", "oracle_auc", "intervals",
            "cv_auc_interval", "warnings", "hyperparameters", "rows"}
    assert core <= set(json.loads((config.MODELS_DIR / "metrics.json").read_text()))
    assert not core - set(artifacts.metrics)
    single_keys = set(json.loads((config.MODELS_DIR / "metrics.json").read_text()))
    named = set(artifacts.metrics) | set(artifacts.metrics["not_computed"])
    assert single_keys - named <= {"variant_without_gender", "mlflow"}, single_keys - named  # run extras
    assert {"fairness", "importance"} <= set(artifacts.metrics["not_computed"])
    assert set(artifacts.metrics["intervals"]) >= {"auc", "business_cost_per_applicant", "recall"}
    report = (cluster_model / "model_report.html").read_text(encoding="utf-8")
    assert "Non calculé pour ce modèle : l'entraînement sur le cluster" in report
    assert artifacts.metrics["threshold"] == artifacts.threshold["threshold"]
    assert set(artifacts.threshold) == set(json.loads((config.MODELS_DIR / "threshold.json").read_text()))
    assert artifacts.metrics["engine"]["kind"] == "dask"
    assert 0 < artifacts.threshold["threshold"] < 1
    assert 0 <= Predictor.from_dir(cluster_model).predict({}, explain=False).score <= 1

    target = twin.tables.application.set_index("SK_ID_CURR").loc[single_features.index, "TARGET"].to_numpy()
    split = split_of(single_features.index.to_numpy(), SEED, 0.2, FOLDS)
    train_rows, hold = split >= 0, split < 0
    single = train_model(single_features[train_rows], target[train_rows],
                         TrainConfig(seed=SEED, n_splits=FOLDS, tune=False, exclude_features=("CODE_GENDER_*",)),
                         quiet=True).model  # the cluster's settings
    x_hold = single_features.loc[hold, artifacts.features].astype(np.float32)
    cluster_auc = roc_auc_score(target[hold], joblib.load(cluster_model / "best_model.pkl").predict_proba(x_hold)[:, 1])
    single_auc = roc_auc_score(target[hold], single.predict_proba(x_hold)[:, 1])
    assert abs(cluster_auc - artifacts.metrics["auc"]) < 1e-9  # the metrics describe this holdout
    assert abs(cluster_auc - single_auc) <= 0.02, (cluster_auc, single_auc)


def test_cluster_training_is_reproducible(cluster_model, layout, single_features, tmp_path):
    """The same data, seed and number of workers give the same model, on another LocalCluster (the command's own).

    (`xgboost.dask` builds each worker's data from the partitions that worker holds: with the
    partitions placed wherever a thread was free, the holdout AUC moved by up to 0.006 between runs.)
    """
    rc = train.main(["--cluster", "local:2x1.5GB", "--data-dir", str(layout), "--model-dir", str(tmp_path),
                     "--folds", str(FOLDS), "--seed", str(SEED), "--quiet"])
    assert rc == 0
    first, second = (load_artifacts(folder) for folder in (cluster_model, tmp_path))
    x = single_features[first.features].astype(np.float32)
    np.testing.assert_array_equal(first.model.inplace_predict(x), second.model.inplace_predict(x))
    for key in ("auc", "cv_fold_auc", "n_rounds", "threshold"):
        assert first.metrics[key] == second.metrics[key], key
    assert first.threshold["grey_zone"] == second.threshold["grey_zone"]


def test_pin_holds_part_i_on_worker_i_modulo_their_number(local_cluster):
    import dask.dataframe as dd
    from distributed import Client, get_worker

    from cluster import pin, worker_order

    frame = dd.from_pandas(pd.DataFrame({"a": range(50)}), npartitions=6)
    with Client(local_cluster) as client:
        workers = worker_order(client)
        pinned = pin(client, frame, workers)
        # a task that needs one part runs where that part is held (this cluster does not steal work)
        where = pinned.map_partitions(lambda part: pd.DataFrame({"worker": [get_worker().address]}),
                                      meta={"worker": object})
        assert client.compute(where, sync=True)["worker"].tolist() == [workers[i % 2] for i in range(6)]
        pd.testing.assert_frame_equal(client.compute(pinned, sync=True), frame.compute())


def _inputs(tmp_path, twin, layout):
    """Three shuffled files (applicants of every part), one part-aligned Parquet file, bad rows."""
    app = twin.test_application.sample(frac=1, random_state=0).astype(object)
    folder = tmp_path / "in"
    folder.mkdir()
    aligned = app[app["SK_ID_CURR"] % PARTS == 0]
    rest = app[app["SK_ID_CURR"] % PARTS != 0]
    third = len(rest) // 3
    chunks = [rest.iloc[:third].copy(), rest.iloc[third:2 * third].copy(), rest.iloc[2 * third:].copy()]
    chunks[0].iloc[1, chunks[0].columns.get_loc("SK_ID_CURR")] = "abc"
    chunks[0].iloc[2, chunks[0].columns.get_loc("AMT_CREDIT")] = "lots"
    chunks[1] = pd.concat([chunks[1], chunks[0].iloc[[5]], chunks[1].iloc[[0]]])  # across and within files
    for i, chunk in enumerate(chunks):
        chunk.to_csv(folder / f"apps_{i}.csv", index=False)
    pd.DataFrame(twin.test_application.loc[aligned.index]).to_parquet(folder / "apps_3.parquet", index=False)
    together = pd.concat([*chunks, pd.DataFrame(twin.test_application.loc[aligned.index]).astype(object)])
    together.to_csv(tmp_path / "all.csv", index=False)
    return folder, tmp_path / "all.csv"


@pytest.mark.parametrize("spec", ["worker processes", "local:2x1GB"])
def test_cluster_batch_scores_equal_single_process(spec, request, layout, flat_dir, twin, tmp_path):
    """On worker processes (a scheduler address) and on `--cluster local:...`, which batch scoring runs as
    two threads of one in-process worker: the tasks share the model and run side by side."""
    cluster = request.getfixturevalue("local_cluster") if spec == "worker processes" else spec
    folder, together = _inputs(tmp_path, twin, layout)
    report = score_on_cluster(folder, tmp_path / "out", cluster=cluster, model_dir=config.MODELS_DIR,
                              data_dir=layout, progress=False)
    single = score_file(together, tmp_path / "single.csv", predictor=Predictor.from_dir(config.MODELS_DIR),
                        data_dir=flat_dir, progress=False)
    assert (report.rows, report.scored, report.high_risk) == (single.rows, single.scored, single.high_risk)
    cluster_scores = read_parts(tmp_path / "out")
    single_scores = pd.read_csv(tmp_path / "single.csv").set_index("SK_ID_CURR").sort_index()
    assert list(cluster_scores.index) == list(single_scores.index)
    assert np.abs(cluster_scores["score"] - single_scores["score"]).max() <= SCORE_TOLERANCE
    assert (cluster_scores["label"] == single_scores["label"]).all()

    errors = pd.read_csv(report.errors_path, dtype=str)
    assert len(errors) == len(single.errors) == 4
    reasons = " | ".join(errors["reason"])
    assert "must be an integer" in reasons and "AMT_CREDIT" in reasons
    assert "appears earlier in the input (apps_0.csv)" in reasons and "appears earlier in the file" in reasons
    assert set(errors["file"]) == {"apps_0.csv", "apps_1.csv"}
    repeat = errors[errors["reason"].str.contains("earlier in the input")].iloc[0]
    raw = pd.read_csv(folder / "apps_1.csv", dtype=str)
    assert raw["SK_ID_CURR"].iloc[int(repeat["line"]) - 2] == repeat["SK_ID_CURR"]


def _where() -> tuple[int, int]:
    return os.getpid(), threading.get_ident()


def test_a_local_spec_in_process_is_one_worker_of_its_threads_and_memory():
    with connect("local:2x1GB", in_process=True) as client:
        workers = client.scheduler_info(n_workers=-1)["workers"]
        assert [(w["nthreads"], w["memory_limit"]) for w in workers.values()] == [(2, 2 * 10**9)]
        where = client.gather(client.map(lambda _: _where(), range(4), pure=False))
    assert {pid for pid, _ in where} == {os.getpid()}  # no worker process
    assert threading.get_ident() not in {thread for _, thread in where}  # the worker's threads, not the caller's


def test_features_file_input_and_a_bad_file(local_cluster, single_features, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    single_features.iloc[:50].copy().reset_index().to_csv(folder / "a.csv", index=False)
    (folder / "b.csv").write_text("")
    report = score_on_cluster(f"{folder}/*.csv", tmp_path / "out", cluster=local_cluster,
                              model_dir=config.MODELS_DIR, progress=False)
    assert (report.rows, report.scored) == (50, 50)
    assert [e[0] for e in report.errors] == ["b.csv"] and "empty" in report.errors[0][3]
    expected = Predictor.from_dir(config.MODELS_DIR).predict_many(single_features.iloc[:50])
    assert np.abs(read_parts(tmp_path / "out")["score"].to_numpy() - expected).max() <= SCORE_TOLERANCE
