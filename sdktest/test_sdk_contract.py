"""Contract tests: the published Portiere SDK (portiere-health 0.6.0) against our API.

The SDK's Client, AuthManager, SyncManager and CloudStorageBackend constructors raise
NotImplementedError, but their method bodies are complete. These tests build the objects
with object.__new__, set the private attributes the constructors would have set, and run
the SDK's own methods against a live server:

    PORTIERE_URL=http://127.0.0.1:8080 PORTIERE_API_KEY=pt_sk_... pytest sdktest

They skip only when PORTIERE_URL is unset. See CONTRACT.md for every call and field.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from portiere.auth import AuthManager
from portiere.client import Client
from portiere.exceptions import AuthenticationError, PortiereError
from portiere.models.concept_mapping import (
    ConceptCandidate,
    ConceptMapping,
    ConceptMappingItem,
    ConceptMappingMethod,
)
from portiere.models.cross_mapping import CrossMapping, CrossMappingRun
from portiere.models.mapping_policy import ConceptReviewDecision
from portiere.models.schema_mapping import MappingStatus, SchemaMapping, SchemaMappingItem
from portiere.storage.cloud_backend import CloudStorageBackend
from portiere.sync.sync_manager import SyncManager

URL = os.environ.get("PORTIERE_URL", "").rstrip("/")
KEY = os.environ.get("PORTIERE_API_KEY", "")

pytestmark = pytest.mark.skipif(
    not URL,
    reason="PORTIERE_URL is unset: start `portiere dev`, then export PORTIERE_URL and "
    "PORTIERE_API_KEY (the pt_sk_ write key it prints) to run the SDK contract tests",
)


# --- building the SDK objects without their constructors ---------------------------


def make_auth(api_key: str) -> AuthManager:
    auth = object.__new__(AuthManager)
    auth._api_key = api_key
    auth._endpoint = URL
    auth._jwt_token = None
    auth._token_expiry = None
    return auth


def make_client(api_key: str | None = None) -> Client:
    key = KEY if api_key is None else api_key
    if not key:
        pytest.fail("PORTIERE_URL is set but PORTIERE_API_KEY is not: export the write key `portiere dev` printed")
    client = object.__new__(Client)
    client._api_key = key
    client._llm_config = None
    client._auth = make_auth(key)
    client._http = httpx.Client(base_url=f"{URL}/api/v1", timeout=60.0)
    return client


def make_cloud_storage(client: Client, tmp_path: Path) -> CloudStorageBackend:
    backend = object.__new__(CloudStorageBackend)
    backend._client = client
    backend._local_cache_dir = tmp_path / "cloud-cache"
    backend._project_cache = {}
    return backend


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client():
    c = make_client()
    yield c
    c.close()


@pytest.fixture
def project(client):
    p = client.create_project(unique("sdk-contract"), vocabularies=["SNOMED", "LOINC", "RxNorm"])
    yield p
    client._request("DELETE", f"/projects/{p.id}")


# --- 2.1 token exchange and 1.2 error mapping --------------------------------------


def test_token_exchange_gives_a_bearer_jwt():
    auth = make_auth(KEY or pytest.fail("PORTIERE_API_KEY unset"))
    auth._exchange_token()
    assert auth._jwt_token and auth._jwt_token != KEY
    assert auth._jwt_token.count(".") == 2, "access_token should be a JWT"
    assert auth._token_expiry > dt.datetime.now(tz=dt.timezone.utc) + dt.timedelta(minutes=5), (
        "expires_in must leave more than the SDK's 5-minute refresh margin"
    )
    assert auth.get_headers() == {"Authorization": f"Bearer {auth._jwt_token}"}
    # Issue #8 fixes the rest of the body, which the SDK does not read.
    raw = httpx.post(f"{URL}/api/v1/auth/token", json={"api_key": KEY}, timeout=10).json()
    assert raw["token_type"] == "bearer"
    assert isinstance(raw["expires_in"], int)


def test_bad_key_token_exchange_is_an_authentication_error():
    with pytest.raises(AuthenticationError, match="Invalid API key"):
        make_auth("pt_sk_" + "0" * 40)._exchange_token()


def test_bad_key_on_a_request_is_an_authentication_error():
    # The exchange fails, get_headers falls back to sending the raw key in both
    # headers, and the server's 401 becomes AuthenticationError.
    c = make_client("pt_sk_" + "0" * 40)
    with pytest.raises(AuthenticationError, match="Invalid or expired API key"):
        c.list_projects()


def test_garbage_bearer_token_is_an_authentication_error():
    c = make_client()
    c._auth._jwt_token = "not.a.jwt"
    c._auth._token_expiry = dt.datetime.now(tz=dt.timezone.utc) + dt.timedelta(hours=1)
    with pytest.raises(AuthenticationError):
        c.list_projects()


def test_raw_api_key_fallback_headers_are_accepted(client):
    # What get_headers sends when the exchange fails: the key itself.
    r = client._http.get(
        "/projects", headers={"Authorization": f"Bearer {KEY}", "X-Portiere-API-Key": KEY}
    )
    assert r.status_code == 200, r.text
    r = client._http.get("/projects", headers={"X-Portiere-API-Key": KEY})
    assert r.status_code == 200, r.text


# --- 2.2 projects ------------------------------------------------------------------


def test_project_create_get_list(client, project):
    got = client.get_project(project.id)
    assert (got.id, got.name, got.target_model, got.vocabularies) == (
        project.id,
        project.name,
        "omop_cdm_v5.4",
        ["SNOMED", "LOINC", "RxNorm"],
    )
    listed = {p.id: p for p in client.list_projects()}
    assert project.id in listed
    assert listed[project.id].name == project.name


def test_project_create_with_null_description_and_default_vocabularies(client):
    p = client.create_project(unique("sdk-defaults"))  # sends "description": null
    try:
        assert client.get_project(p.id).vocabularies == ["SNOMED", "LOINC", "RxNorm", "ICD10CM"]
    finally:
        client._request("DELETE", f"/projects/{p.id}")


def test_cloud_storage_project_lifecycle(client, tmp_path):
    storage = make_cloud_storage(client, tmp_path)
    name = unique("sdk-storage")
    created = storage.create_project(
        name, "fhir_r4", ["SNOMED"], task="cross_map", source_standard="omop_cdm_v5.4"
    )
    assert created["id"]
    assert created["task"] == "cross_map"
    assert created["source_standard"] == "omop_cdm_v5.4"
    storage._project_cache.clear()
    loaded = storage.load_project(name)
    assert loaded["id"] == created["id"]
    assert any(p["name"] == name for p in storage.list_projects())
    storage.delete_project(name)
    with pytest.raises(PortiereError):
        client.get_project(created["id"])


# --- 2.3 concept search ------------------------------------------------------------


def test_search_concepts(client):
    results = client.search_concepts("type 2 diabetes mellitus", vocabulary="SNOMED", limit=5)
    assert 0 < len(results) <= 5
    for r in results:
        assert r["vocabulary_id"] == "SNOMED"
        assert isinstance(r["concept_id"], int) and r["concept_name"]
    assert any(r["concept_id"] == 201826 for r in results), "demo vocabulary has 201826 Type 2 diabetes mellitus"
    assert isinstance(client.search_concepts("hypertension"), list)  # vocabulary/domain null


# --- 2.4 concept mapping -----------------------------------------------------------


def _check_concept_items(items: list[ConceptMappingItem], codes: list[str]):
    assert [i.source_code for i in items] == codes
    for item in items:
        assert item.method in set(ConceptMappingMethod)
        for cand in item.candidates:
            assert isinstance(cand, ConceptCandidate)
        if item.target_concept_id is not None:
            assert item.target_vocabulary_id and item.target_concept_name


def test_project_map_concepts(client, project):
    # Project.map_concepts gets its codes from Source.get_code_columns; here the source
    # is a stand-in for the SDK's local data side, shaped as models/source.py returns it
    # (raw cell values, so an integer code column sends JSON numbers).
    codes = {
        "dx_code": [
            {"code": "E11.9", "description": "Type 2 diabetes mellitus without complications", "count": 12},
            {"code": "I10", "description": "Essential (primary) hypertension", "count": 7},
        ],
        "lab_id": [{"code": 2345, "description": "2345", "count": 3}],
    }
    source = SimpleNamespace(id=unique("src"), name="encounters", get_code_columns=lambda engine: codes)
    mapping = project.map_concepts(source=source, engine=None, batch_size=2)
    assert isinstance(mapping, ConceptMapping)
    _check_concept_items(mapping.items, ["E11.9", "I10", "2345"])
    # The pipeline's third stage, with its other body shape (no thresholds).
    from portiere.stages.stage3_concepts import _map_concepts_cloud

    pandas = pytest.importorskip("pandas")
    from portiere.engines import get_engine

    csv = Path(project.name + ".csv")
    csv = Path(os.environ.get("TMPDIR", "/tmp")) / csv
    pandas.DataFrame(
        {"diagnosis_code": ["E11.9", "I10", "E11.9"], "diagnosis_description": ["Type 2 diabetes", "Hypertension", "Type 2 diabetes"]}
    ).to_csv(csv, index=False)
    try:
        result = _map_concepts_cloud(client, get_engine("pandas"), str(csv), ["diagnosis_code"], ["SNOMED"], "csv")
    finally:
        csv.unlink()
    col = result["mappings"]["diagnosis_code"]
    stats = col["stats"]
    assert result["stats"]["total_codes"] == 2
    assert stats["total"] == 2
    assert stats["auto"] + stats["review"] + stats["manual"] == 2
    assert sorted(i["source_code"] for i in col["items"]) == ["E11.9", "I10"]
    for i in col["items"]:
        ConceptMappingItem(**i)


def test_approve_all(client, project):
    from portiere.stages.stage3_concepts import approve_all_review_items

    source = SimpleNamespace(
        id=unique("src"), name="dx",
        get_code_columns=lambda engine: {"dx": [{"code": "I10", "description": "Essential hypertension", "count": 1}]},
    )
    project.map_concepts(source=source, engine=None)
    result = approve_all_review_items(client, project.id, source.id)
    assert isinstance(result, dict)


# --- 2.5 schema mapping ------------------------------------------------------------

HOSPITAL_COLUMNS = [
    {"name": "patient_id", "type": "int64", "nullable": False, "n_unique": 100, "sample_values": ["1001", "1002"]},
    {"name": "dob", "type": "object", "nullable": False, "n_unique": 98, "sample_values": ["1956-03-02", "1990-11-23"]},
    {"name": "sex", "type": "object", "nullable": False, "n_unique": 2, "sample_values": ["M", "F"]},
]


def test_project_map_schema(client, project):
    source = SimpleNamespace(name="patients", profile_result=SimpleNamespace(columns=[
        {"name": c["name"], "type": c["type"], "null_pct": 0, "n_unique": c["n_unique"], "top_values": c["sample_values"]}
        for c in HOSPITAL_COLUMNS
    ]))
    mapping = project.map_schema(source)
    assert isinstance(mapping, SchemaMapping)
    by_col = {i.source_column: i for i in mapping.items}
    assert set(by_col) == {"patient_id", "dob", "sex"}
    assert (by_col["dob"].target_table, by_col["dob"].target_column) == ("person", "birth_datetime")
    assert (by_col["sex"].target_table, by_col["sex"].target_column) == ("person", "gender_concept_id")


def test_pipeline_schema_stage(client):
    from portiere.stages.stage2_schema import _map_schema_cloud

    result = _map_schema_cloud(client, SimpleNamespace(columns=HOSPITAL_COLUMNS), "omop_cdm_v5.4")
    assert result["stats"]["total"] == 3, "one suggestion per column, under the key `mappings`"
    for m in result["mappings"]:
        SchemaMappingItem(**m)


# --- 2.6 sources -------------------------------------------------------------------


def test_add_source_registration(project):
    source = project.add_source("admissions", engine=None, path="/data/admissions.csv", format="csv")
    assert source.id and not source.id.startswith("local_")


# --- 2.7 sync ----------------------------------------------------------------------


def concept_items() -> list[ConceptMappingItem]:
    cand = ConceptCandidate(
        concept_id=201826, concept_name="Type 2 diabetes mellitus", vocabulary_id="SNOMED",
        domain_id="Condition", concept_class_id="Clinical Finding", standard_concept="S",
        score=0.91, rrf_score=0.03, cross_encoder_score=None,
    )
    other = ConceptCandidate(
        concept_id=316866, concept_name="Hypertensive disorder", vocabulary_id="SNOMED",
        domain_id="Condition", concept_class_id="Clinical Finding", standard_concept="S", score=0.4,
    )
    return [
        ConceptMappingItem(
            source_code="E11.9", source_description="T2DM, no complications", source_column="dx_code",
            source_count=42, target_concept_id=201826, target_concept_name="Type 2 diabetes mellitus",
            target_vocabulary_id="SNOMED", target_domain_id="Condition", confidence=0.91,
            method=ConceptMappingMethod.OVERRIDE, inference_method=ConceptMappingMethod.REVIEW,
            review_decision=ConceptReviewDecision.OVERRIDDEN, candidates=[cand, other],
            provenance={"reviewer": "ana@example.org", "nested": {"k": [1, 2.5, None, "ü, \"q\"\ttab"]}},
        ),
        ConceptMappingItem(source_code="Z87.891", source_description=None, method=ConceptMappingMethod.UNMAPPED,
                           review_decision=ConceptReviewDecision.REJECTED),
        ConceptMappingItem(source_code="I10", confidence=0.72),  # defaults; inference_method becomes review
    ]


def schema_items() -> list[SchemaMappingItem]:
    return [
        SchemaMappingItem(source_table="patients", source_column="dob", target_table="person",
                          target_column="year_of_birth", confidence=0.81, status=MappingStatus.OVERRIDDEN,
                          candidates=[{"target_table": "person", "target_column": "year_of_birth", "confidence": 0.81}],
                          override_target_table="person", override_target_column="birth_datetime"),
        SchemaMappingItem(source_column="zip", status=MappingStatus.REJECTED),
    ]


def cross_runs() -> list[CrossMappingRun]:
    return [
        CrossMappingRun(source_standard="omop_cdm_v5.4", target_standard="fhir_r4", source_entity="person",
                        target_entity="Patient", record_count=1200, status="completed",
                        crossmap_file="omop_to_fhir_r4.yaml", created_at="2026-11-30T10:11:12+00:00"),
        CrossMappingRun(source_standard="omop_cdm_v5.4", target_standard="fhir_r4", source_entity="drug_exposure",
                        status="failed"),
    ]


def dumps(models) -> list[dict]:
    return sorted((m.model_dump(mode="json") for m in models), key=repr)


def new_local_project(root: Path):
    import portiere
    from portiere.config import PortiereConfig
    from portiere.engines import get_engine

    pytest.importorskip("pandas")
    p = portiere.init(unique("sdk-sync"), config=PortiereConfig(local_project_dir=root), engine=get_engine("pandas"))
    # SyncManager reads local_project.directory (for project.yaml) and updated_at, which
    # the local Project of 0.6.0 does not define; supply them as the SDK expects.
    p.directory = root / p.name
    p.updated_at = None
    return p


def make_sync(client: Client, local_project, cloud_project_id: str | None) -> SyncManager:
    sync = object.__new__(SyncManager)
    sync.client = client
    sync.local_project = local_project
    sync.cloud_project_id = cloud_project_id
    return sync


@pytest.fixture
def local_project(tmp_path):
    p = new_local_project(tmp_path / "local")
    p.save_concept_mapping(ConceptMapping(items=concept_items()))
    p.save_schema_mapping(SchemaMapping(items=schema_items()))
    return p


def test_sync_push_pull_round_trip(client, local_project, tmp_path):
    sync = make_sync(client, local_project, None)
    cloud_id = sync.push()  # creates the project, pushes schema and concept items
    try:
        assert cloud_id
        sync.push()  # pushing the same items again must not duplicate them

        # A colleague pulls into a fresh local project. (0.6.0's pull cannot overwrite
        # a local mapping that already exists: its local store demands a loaded
        # revision, which pull never sets. See CONTRACT.md 2.7.)
        colleague = new_local_project(tmp_path / "colleague")
        pull = make_sync(client, colleague, cloud_id)
        pull.pull()
        assert dumps(colleague.load_concept_mapping().items) == dumps(concept_items())
        assert dumps(colleague.load_schema_mapping().items) == dumps(schema_items())
        assert pull.status()["status"] == "synced"

        # Cross-mapping runs go through the cloud storage backend.
        storage = make_cloud_storage(client, tmp_path)
        storage._project_cache[local_project.name] = cloud_id
        storage.save_cross_mapping(local_project.name, CrossMapping(runs=cross_runs()))
        storage.save_cross_mapping(local_project.name, CrossMapping(runs=cross_runs()))
        assert dumps(storage.load_cross_mapping(local_project.name).runs) == dumps(cross_runs())

        # The storage backend's own load methods read the same endpoints.
        assert dumps(storage.load_concept_mapping(local_project.name).items) == dumps(concept_items())
        assert dumps(storage.load_schema_mapping(local_project.name).items) == dumps(schema_items())
        # An empty push (CloudStorageBackend always sends one) is accepted.
        storage.save_schema_mapping(local_project.name, SchemaMapping(items=[]))
    finally:
        client._request("DELETE", f"/projects/{cloud_id}")


def test_sync_to_an_unknown_project_is_refused(client, tmp_path):
    storage = make_cloud_storage(client, tmp_path)
    storage._project_cache["ghost"] = str(uuid.uuid4())
    with pytest.raises(PortiereError, match="API error"):
        storage.load_concept_mapping("ghost")


# --- 2.8 billing -------------------------------------------------------------------


def test_billing_reads(client):
    assert isinstance(client.get_usage(), dict)
    assert isinstance(client.get_plan(), dict)


# --- 2.9 review endpoints (from the SDK's Review API doc; the SDK code only calls approve-all)


def _pushed_item_ids(client: Client, project_id: str, kind: str) -> dict[str, str]:
    """Item ids by source code/column, read from a pull (the server adds `id`)."""
    items = client._request("GET", f"/sync/projects/{project_id}/{kind}")["items"]
    key = "source_code" if kind == "concept-mappings" else "source_column"
    assert all("id" in i for i in items), "pulled items must carry the server's item id for the review routes"
    return {i[key]: i["id"] for i in items}


@pytest.mark.parametrize("prefix", ["/api/v1", "/v1"])
def test_review_concept_mapping(client, project, prefix):
    items = [i.model_dump(mode="json") for i in concept_items()]
    client._request("POST", f"/sync/projects/{project.id}/concept-mappings/bulk", json={"items": items})
    ids = _pushed_item_ids(client, project.id, "concept-mappings")
    http, base = client._http, f"{URL}{prefix}/projects/{project.id}/concept-mapping"
    headers = client._auth.get_headers()

    r = http.post(f"{base}/{ids['I10']}/override", headers=headers,
                  json={"target_concept_id": 316866, "target_concept_name": "Hypertensive disorder", "target_vocabulary_id": "SNOMED"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == ids["I10"] and body["method"] == "override"
    assert (body["target_concept_id"], body["target_concept_name"], body["target_vocabulary_id"]) == (316866, "Hypertensive disorder", "SNOMED")
    for k in ("source_code", "source_description", "confidence"):
        assert k in body

    r = http.post(f"{base}/{ids['E11.9']}/reject", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == "unmapped" and body["target_concept_id"] is None and body["target_concept_name"] is None

    r = http.post(f"{base}/{ids['Z87.891']}/approve", headers=headers)
    assert r.status_code in (200, 422), r.text  # nothing to approve: the item has no target

    r = http.post(f"{base}/{ids['I10']}/override", headers=headers, json={"target_concept_name": "no id"})
    assert r.status_code == 422 and "detail" in r.json()

    r = http.post(f"{base}/{uuid.uuid4()}/approve", headers=headers)
    assert r.status_code == 404 and "detail" in r.json()

    r = http.post(f"{base}/{ids['I10']}/approve", headers={"Authorization": "Bearer pt_sk_" + "0" * 40})
    assert r.status_code == 401 and "detail" in r.json()


def test_review_schema_mapping(client, project):
    items = [i.model_dump(mode="json") for i in schema_items()]
    client._request("POST", f"/sync/projects/{project.id}/schema-mappings/bulk", json={"items": items})
    ids = _pushed_item_ids(client, project.id, "schema-mappings")
    base = f"/projects/{project.id}/schema-mapping"

    body = client._request("POST", f"{base}/{ids['dob']}/override", json={"target_table": "person", "target_column": "birth_datetime"})
    assert (body["id"], body["status"], body["target_table"], body["target_column"]) == (ids["dob"], "overridden", "person", "birth_datetime")
    assert {"source_column", "confidence"} <= body.keys()
    body = client._request("POST", f"{base}/{ids['zip']}/reject")
    assert body["status"] == "rejected"
    r = client._http.post(f"{base}/{ids['dob']}/override", headers=client._auth.get_headers(), json={"target_table": "person"})
    assert r.status_code == 422
