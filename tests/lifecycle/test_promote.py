"""The lifecycle on a real MLflow store (SQLite under tmp_path): train.py registers candidates, promote.py
promotes one, refuses a worse one (trained on shuffled targets) and a tampered one, rolls back."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import promote
from lifecycle.decision_check import NotPromoted, check_promoted
from scoring import registry
from scoring.schema import MODEL_FILE, PROMOTION_FILE, SERVED_MODEL_FILE, THRESHOLD_FILE
from serving.predictor import Predictor
from tests.helpers import PROJECT_ROOT

pytestmark = pytest.mark.slow
pytest.importorskip("mlflow")


def train(features: Path, out: Path, cwd: Path) -> dict:
    """`python train.py` on a features table, recorded in the MLflow store of MLFLOW_TRACKING_URI (no scorecard
    benchmark: the gate compares the XGBoost models)."""
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "train.py"), "--features", str(features),
                             "--model-dir", str(out), "--no-tune", "--folds", "2", "--repeats", "1", "--no-variant",
                             "--no-store", "--no-benchmark", "--quiet"], cwd=cwd, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout[: result.stdout.rindex("}") + 1])["mlflow"]


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture()
def store(tmp_path, monkeypatch) -> str:
    (tmp_path / "mlruns").mkdir()
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def test_register_promote_refuse_tampered_and_roll_back(tmp_path, store, tables, fixture_champion, capsys):
    serving = tmp_path / "serving" / "models"
    shutil.copytree(fixture_champion, serving)
    first = Predictor.from_dir(serving).model_version
    lifecycle = tmp_path / "lifecycle"
    rule = tmp_path / "rule.json"  # the business accepts a small cost rise for this test's two similar models
    rule.write_text(json.dumps({"max_cost_increase": 0.5, "no_new_fairness_breach": False}))
    common = ["--model-dir", str(serving), "--lifecycle-dir", str(lifecycle), "--holdout", str(tables["holdout"]),
              "--rule", str(rule), "--bootstrap", "300"]

    good = train(tables["train"], tmp_path / "good", tmp_path)
    bad = train(tables["shuffled"], tmp_path / "bad", tmp_path)
    assert good["registered_version"] != bad["registered_version"]
    for info in (good, bad):  # both registered as candidates, with what identifies their folder
        assert registry.version_tags(info["registered_version"], uri=store)[registry.STATUS_TAG] == "candidate"
    good_version = Predictor.from_dir(tmp_path / "good").model_version

    # promote the good candidate, named by its registry version: fetched from the store, compared, swapped in
    assert promote.main([str(good["registered_version"]), *common, "--json", str(tmp_path / "d1.json")]) == 0
    out = capsys.readouterr().out
    assert "AUC" in out and "cost per applicant" in out and "PROMOTED" in out
    assert Predictor.from_dir(serving).model_version == good_version
    assert registry.alias_version(registry.CHAMPION, uri=store) == str(good["registered_version"])
    decision = check_promoted(serving)  # the deploy's check passes on the promoted folder
    assert decision["candidate"]["model_version"] == good_version and decision["champion"]["model_version"] == first
    recorded = json.loads((lifecycle / decision["decision"] / "metrics.json").read_text())
    assert str(tmp_path) not in (serving / PROMOTION_FILE).read_text()  # no machine-local path ships
    assert recorded["rule"]["max_cost_increase"] == 0.5  # the configurable rule is written into the decision
    paired = recorded["figures"]["paired"]
    assert paired["auc"]["difference"]["low"] <= paired["auc"]["difference"]["value"] <= \
        paired["auc"]["difference"]["high"]
    assert {"accepted_to_refused", "refused_to_accepted"} <= recorded["figures"]["flips"].keys()
    assert recorded["figures"]["parity"]["candidate"]["max_gap"] <= 1e-5

    # the worse model (shuffled targets) is refused on its AUC; nothing moves
    assert promote.main([str(bad["registered_version"]), *common]) == 1
    out = capsys.readouterr().out
    assert "REFUSED" in out and "auc.difference.high" in out.split("REFUSED")[1]
    assert Predictor.from_dir(serving).model_version == good_version
    assert registry.alias_version(registry.CHAMPION, uri=store) == str(good["registered_version"])
    assert registry.version_tags(bad["registered_version"], uri=store)[registry.STATUS_TAG] == registry.REFUSED

    # a tampered candidate (one flipped byte) is refused before any figure
    tampered = tmp_path / "tampered"
    shutil.copytree(tmp_path / "bad", tampered)
    flip_a_byte(tampered / MODEL_FILE)
    assert promote.main([str(tampered), *common]) == 1
    assert "does not match its checksum" in capsys.readouterr().out
    assert Predictor.from_dir(serving).model_version == good_version

    # --force needs a reason, and is recorded
    with pytest.raises(SystemExit):
        promote.main([str(tmp_path / "bad"), *common, "--force"])
    capsys.readouterr()

    # rollback: the champion the promotion replaced serves again; the alias leaves the rolled-back version
    assert promote.main(["rollback", *common[:4]]) == 0
    assert Predictor.from_dir(serving).model_version == first
    assert registry.alias_version(registry.CHAMPION, uri=store) is None
    with pytest.raises(NotPromoted):  # the fixture champion was never promoted by the gate: not shippable
        check_promoted(serving)
    history = [json.loads(line) for line in (lifecycle / "history.jsonl").read_text().splitlines()]
    assert [h["action"] for h in history] == ["promote", "rollback"]


def test_forced_promotion_records_its_reason_and_a_retrained_folder_fails_the_check(tmp_path, tables,
                                                                                        fixture_champion, capsys):
    serving = tmp_path / "models"
    shutil.copytree(fixture_champion, serving)
    candidate = tmp_path / "cand"
    from tests.fixture_model import build_model_dir

    build_model_dir(candidate, seed=5, n_estimators=20)
    common = ["--model-dir", str(serving), "--lifecycle-dir", str(tmp_path / "lc"), "--holdout",
              str(tables["holdout"]), "--no-registry", "--bootstrap", "200"]
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"max_flip_share": 0.0}))  # no decision may change: this candidate fails it
    assert promote.main([str(candidate), *common, "--rule", str(strict)]) == 1
    assert "flips.share" in capsys.readouterr().out
    assert promote.main([str(candidate), *common, "--rule", str(strict), "--force", "--reason", "audit request"]) == 0
    decision = check_promoted(serving)
    assert decision["outcome"] == "forced" and decision["reason"] == "audit request" and decision["failed"]
    assert promote.main(["--check", str(serving)]) == 0
    # train.py overwriting the promoted folder: its decision no longer names the model it holds
    build_model_dir(serving, seed=6, n_estimators=20)
    assert promote.main(["--check", str(serving)]) == 1
    # the candidate that is already the champion is refused (nothing to compare)
    shutil.rmtree(serving)
    shutil.copytree(candidate, serving)
    assert promote.main([str(candidate), *common]) == 1
    assert "already" in capsys.readouterr().out


def rewrite_checksum(folder: Path, name: str) -> None:
    """What a careless (or hostile) hand does after swapping a file: make the manifest agree with it."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_a_tampered_decision_file_fails_the_deploy_check(tmp_path, tables, fixture_champion):
    serving = tmp_path / "models"
    shutil.copytree(fixture_champion, serving)
    from tests.fixture_model import build_model_dir

    build_model_dir(tmp_path / "cand", seed=3, n_estimators=30)
    promote.main([str(tmp_path / "cand"), "--model-dir", str(serving), "--lifecycle-dir", str(tmp_path / "lc"),
                  "--holdout", str(tables["holdout"]), "--no-registry", "--bootstrap", "100", "--force",
                  "--reason", "test"])
    check_promoted(serving)
    assert json.loads((serving / PROMOTION_FILE).read_text())["candidate"]["source"] == "cand"  # not /tmp/...
    # a served model file (UBJSON) or threshold swapped after the promotion, its checksum rewritten: refused
    other = build_model_dir(tmp_path / "other", seed=4, n_estimators=30)
    for name in (SERVED_MODEL_FILE, THRESHOLD_FILE):
        swapped = tmp_path / f"swapped-{name}"
        shutil.copytree(serving, swapped)
        shutil.copy(other / name, swapped / name)
        if name == THRESHOLD_FILE:  # a threshold moved by hand
            doc = json.loads((swapped / name).read_text())
            (swapped / name).write_text(json.dumps(doc | {"threshold": doc["threshold"] * 0.9}))
        rewrite_checksum(swapped, name)
        with pytest.raises(NotPromoted, match=f"{name} is not the file the gate's decision promoted"):
            check_promoted(swapped)
        assert promote.main(["--check", str(swapped)]) == 1
    added = tmp_path / "added"  # a file slipped in after the decision, listed in the manifest
    shutil.copytree(serving, added)
    (added / "extra.json").write_text("{}")
    rewrite_checksum(added, "extra.json")
    with pytest.raises(NotPromoted, match="extra.json was added after"):
        check_promoted(added)
    doc = json.loads((serving / PROMOTION_FILE).read_text())
    doc["outcome"] = "promoted"
    (serving / PROMOTION_FILE).write_text(json.dumps(doc))
    with pytest.raises(NotPromoted, match="checksum"):
        check_promoted(serving)
