"""The dossier look-up's answer cache (`api.dossier_cache`): a cached answer is byte for byte the computed
one (request id aside), every look-up is still its own log line and its caller's evaluation, and a
model swap never serves the old model's answer."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import gated
from api.auth import Access
from api.dossier_cache import CachedDossier, DossierCache
from api.rest import create_api
from api.scoring_service import ScoringService
from scoring import config, schema
from serving.predictor import Predictor

TOKENS = {"tok-alice": "alice", "tok-bob": "bob"}
ALICE, BOB = ({"Authorization": f"Bearer {t}"} for t in TOKENS)


def _client(service: ScoringService) -> TestClient:
    return TestClient(gated(create_api(service), access=Access(TOKENS)), raise_server_exceptions=False)


@pytest.fixture()
def api(dossier_service: ScoringService) -> Iterator[TestClient]:
    with _client(dossier_service) as c:
        yield c


def _ids(service: ScoringService, n: int) -> list[int]:
    return service.store.ids(n)


def _without_id(answer) -> bytes:
    """The answer's bytes with its request id blanked (checked to be the header's and the body's last key)."""
    rid = answer.headers["x-request-id"]
    assert answer.content.endswith(b',"request_id":"%s"}' % rid.encode())
    return answer.content.replace(rid.encode(), b"<id>")


def test_a_cached_answer_is_the_computed_answer_byte_for_byte(api: TestClient, dossier_service: ScoringService,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOSSIER_CACHE", "0")
    uncached_service = ScoringService(dossier_service.predictor, dossier_service.logger, store=dossier_service.store,
                                      store_reason="")
    with _client(uncached_service) as plain:
        for applicant in _ids(dossier_service, 40):
            first, second = (api.get(f"/api/applicants/{applicant}", headers=ALICE) for _ in range(2))
            computed = plain.get(f"/api/applicants/{applicant}", headers=ALICE)
            assert first.status_code == second.status_code == computed.status_code == 200
            assert _without_id(first) == _without_id(second) == _without_id(computed)
            assert len({first.headers["x-request-id"], second.headers["x-request-id"],
                        computed.headers["x-request-id"]}) == 3
            body = second.json()
            assert body[schema.ID_COLUMN] == applicant and body["source"] == "dossier" and body["reasons"]["up"]


def test_each_cached_look_up_is_logged_and_owned_by_its_caller(api: TestClient,
                                                               dossier_service: ScoringService) -> None:
    applicant = _ids(dossier_service, 3)[2]
    first = api.get(f"/api/applicants/{applicant}", headers=ALICE).json()  # computed
    again = api.get(f"/api/applicants/{applicant}", headers=BOB).json()  # from the cache
    # Bob's cached evaluation is his: he may decide on it and print its letter; Alice may not (404)
    model = "refuse" if again["prediction"] else "accept"
    assert api.post("/api/decisions", json={"request_id": again["request_id"], "decision": model},
                    headers=ALICE).status_code == 404
    decided = api.post("/api/decisions", json={"request_id": again["request_id"], "decision": model}, headers=BOB)
    assert decided.status_code == 200, decided.text
    assert api.get(f"/api/letters/{again['request_id']}", headers=BOB).status_code == 200
    assert api.get(f"/api/letters/{again['request_id']}", headers=ALICE).status_code == 404
    assert api.get(f"/api/applicants/{applicant}").status_code == 401  # the cache is behind the gate
    dossier_service.logger.flush()
    lines = [json.loads(line) for line in dossier_service.logger.path.read_text(encoding="utf-8").splitlines()]
    looked_up = [r for r in lines if r.get("source") == "dossier" and r["status"] == "ok"]
    assert [(r["request_id"], r["client"], r["applicant_id"]) for r in looked_up] == [
        (first["request_id"], "alice", applicant), (again["request_id"], "bob", applicant)]
    assert looked_up[0]["prediction"] == looked_up[1]["prediction"]
    assert looked_up[1]["input"] == {schema.ID_COLUMN: applicant}


def test_a_swapped_model_is_never_answered_from_the_old_models_cache(api: TestClient,
                                                                     dossier_service: ScoringService) -> None:
    applicants = _ids(dossier_service, 5)
    before = {a: api.get(f"/api/applicants/{a}", headers=ALICE).json() for a in applicants}
    strict = Predictor.from_dir(config.MODELS_DIR)  # the same model with another threshold: other decisions
    strict.threshold = 0.999
    dossier_service.install(strict)
    for a in applicants:
        after = api.get(f"/api/applicants/{a}", headers=ALICE).json()
        assert after["threshold"] == 0.999 and after["prediction"] == 0 and after["score"] == before[a]["score"]
        assert after["label"] == schema.LABEL_LOW_RISK


def test_the_cache_is_a_bounded_lru_of_one_model_and_store() -> None:
    cache = DossierCache(size=2)
    model, store = object(), object()
    entry = {i: CachedDossier(None, ("f",), np.zeros(1, dtype=np.float32), b'{"n":%d}' % i) for i in range(4)}
    assert cache.get(model, store, 1) is None
    for i in (1, 2):
        cache.put(model, store, i, entry[i])
    assert cache.get(model, store, 1) is entry[1]  # 1 is now the most recent
    cache.put(model, store, 3, entry[3])  # 2 goes
    assert cache.get(model, store, 2) is None and cache.get(model, store, 3) is entry[3] and len(cache) == 2
    assert entry[3].body_for("ab") == b'{"n":3,"request_id":"ab"}'
    other = object()
    assert cache.get(other, store, 1) is None and len(cache) == 0  # another model: emptied
    cache.put(model, store, 1, entry[1])  # computed with the old model after the swap: not kept
    assert len(cache) == 0 and cache.get(other, store, 1) is None
    off = DossierCache(size=0)
    off.get(model, store, 1)
    off.put(model, store, 1, entry[1])
    assert len(off) == 0
