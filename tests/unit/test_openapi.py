"""The OpenAPI document of the gateway (no server, no Redis): valid OpenAPI 3.1, every REST route
with its methods, the request body of POST /api/execute, and the refusals in the ErrorBody shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate

from lib.config import Settings
from lib.protocol import JobRequest
from lib.results import JobResult
from services.websocket.app import create_app

ERROR_BODY = "#/components/schemas/ErrorBody"
ROUTES = {
    "/api/jobs/create": {"post"},
    "/api/runtimes": {"get"},
    "/api/execute": {"post"},
    "/api/jobs/{job_id}": {"get"},
    "/health": {"get"},
    "/ready": {"get"},
    "/metrics": {"get"},
}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    settings = Settings(jwt_secret="s" * 40, api_keys="k", _env_file=None)
    return create_app(settings)


@pytest.fixture(scope="module")
def doc(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def schema_ref(response: dict[str, Any]) -> str | None:
    ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    return None if ref is None else str(ref)


def test_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.1.")
    assert doc["info"]["title"] == "cexec" and doc["info"]["version"]
    validate(doc)


async def test_served_document_is_the_same(app: FastAPI, doc: dict[str, Any]) -> None:
    # The ASGI transport does not run the lifespan (Redis): the document needs none of it.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        reply = await http.get("/openapi.json")
    assert reply.status_code == 200
    assert reply.json() == doc


def test_every_route_with_its_methods(doc: dict[str, Any]) -> None:
    for path, methods in ROUTES.items():
        assert path in doc["paths"], path
        assert set(doc["paths"][path]) == methods, path
    assert "/ws/execute" not in doc["paths"]  # a WebSocket route has no place in OpenAPI
    assert "/docs" not in doc["paths"]


def test_operation_ids_are_unique(doc: dict[str, Any]) -> None:
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)), ids


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    found = set(refs(doc))
    assert found, "no $ref at all"
    for ref in found:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, ref


def test_execute_takes_a_job_request(doc: dict[str, Any]) -> None:
    execute = doc["paths"]["/api/execute"]["post"]
    body = execute["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JobRequest"
    }
    schema = doc["components"]["schemas"]["JobRequest"]
    assert set(schema["properties"]) == set(JobRequest.model_fields)
    assert schema["required"] == ["language"]
    for nested in ("SourceFile", "RequestLimits", "TestCaseRequest"):
        assert nested in doc["components"]["schemas"], nested
    wait = [p for p in execute["parameters"] if p["name"] == "wait"]
    assert wait and wait[0]["in"] == "query" and wait[0]["schema"]["type"] == "boolean"


def test_execute_answers(doc: dict[str, Any]) -> None:
    responses = doc["paths"]["/api/execute"]["post"]["responses"]
    assert schema_ref(responses["200"]) == "#/components/schemas/JobResult"
    assert schema_ref(responses["202"]) == "#/components/schemas/Queued"
    result = doc["components"]["schemas"]["JobResult"]
    assert set(result["properties"]) == set(JobResult.model_fields)
    assert set(doc["components"]["schemas"]["Queued"]["properties"]) == {"job_id", "status"}


def test_job_and_runtimes_answers(doc: dict[str, Any]) -> None:
    job = doc["paths"]["/api/jobs/{job_id}"]["get"]
    assert schema_ref(job["responses"]["200"]) == "#/components/schemas/JobResult"
    assert [(p["name"], p["in"]) for p in job["parameters"]] == [("job_id", "path")]
    runtimes = doc["paths"]["/api/runtimes"]["get"]["responses"]["200"]
    items = runtimes["content"]["application/json"]["schema"]
    assert items["type"] == "array" and items["items"]["$ref"] == "#/components/schemas/Runtime"
    runtime = doc["components"]["schemas"]["Runtime"]
    assert set(runtime["properties"]) == {"language", "version", "aliases", "compiled", "filename"}
    created = doc["paths"]["/api/jobs/create"]["post"]["responses"]["200"]
    assert schema_ref(created) == "#/components/schemas/JobCreated"


def test_error_body_schema(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert schemas["ErrorBody"]["required"] == ["error"]
    assert schemas["ErrorBody"]["properties"]["error"]["$ref"] == "#/components/schemas/ErrorDetail"
    detail = schemas["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message"}
    assert set(detail["properties"]) == {"code", "message", "violations"}
    codes = set(schemas["ErrorCode"]["enum"])
    assert {"auth", "invalid_json", "code_rejected", "rate_limited", "not_found"} <= codes


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/api/jobs/create", "post", {"401", "429", "503"}),
        ("/api/runtimes", "get", {"401"}),
        ("/api/execute", "post", {"400", "401", "413", "422", "429", "503"}),
        ("/api/jobs/{job_id}", "get", {"404"}),
        ("/api/jobs/{job_id}", "get", {"401", "503"}),
        ("/api/runtimes", "get", {"503"}),
    ],
)
def test_refusals_reference_error_body(
    doc: dict[str, Any], path: str, method: str, statuses: set[str]
) -> None:
    responses = doc["paths"][path][method]["responses"]
    assert statuses <= set(responses), sorted(responses)
    for status in statuses:
        assert schema_ref(responses[status]) == ERROR_BODY, (path, status, responses[status])
        assert responses[status]["description"], (path, status)


def test_every_documented_refusal_is_an_error_body(doc: dict[str, Any]) -> None:
    """Every 4xx and 5xx of the API, not the readiness probe's 503 (its own body: not ready)."""
    for path, ops in doc["paths"].items():
        if path == "/ready":
            continue
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if status[0] in "45":
                    assert schema_ref(response) == ERROR_BODY, (path, method, status)
