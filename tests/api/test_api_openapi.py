"""GET /openapi.json describes every public route, with request and response schemas
generated from the same pydantic models the handlers validate with."""

from __future__ import annotations

import pytest
from starlette.routing import Route

from proxy.schemas.memories import CreateMemory, MemoryOut


@pytest.fixture(scope="module")
def spec(live):
    import httpx

    response = httpx.get(f"{live.url}/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_it_is_openapi_3_1_without_needing_a_key(spec):
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] == "memproxy"


def test_every_route_of_the_app_is_described(spec, live):
    from tests.api.conftest import build_app

    app = build_app(object(), object())
    expected = {(r.path.replace(":path", ""), m.lower()) for r in app.routes if isinstance(r, Route)
                and r.include_in_schema for m in r.methods if m != "HEAD"}
    described = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert expected <= described


def json_schema(part):
    return part["content"]["application/json"]["schema"]


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def test_rest_routes_have_request_response_and_error_schemas(spec):
    create = spec["paths"]["/v1/memories"]["post"]
    assert json_schema(create["requestBody"]) == ref("CreateMemory")
    assert json_schema(create["responses"]["201"])["oneOf"] == [ref("MemoryOut"), ref("MemoryEvents")]
    assert "CONTENT_TOO_LONG" in create["responses"]["413"]["description"]
    assert "INVALID_USER_ID" in create["responses"]["400"]["description"]
    assert json_schema(create["responses"]["401"]) == ref("ErrorBody")

    listing = spec["paths"]["/v1/memories"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert {"userId", "agentId", "tags", "page", "limit"} <= set(params)
    assert params["limit"]["schema"]["maximum"] == 100

    get = spec["paths"]["/v1/memories/{id}"]["get"]
    assert get["parameters"][0]["name"] == "id" and get["parameters"][0]["in"] == "path"
    assert "MEMORY_NOT_FOUND" in get["responses"]["404"]["description"]


def test_schemas_are_the_handlers_pydantic_models(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["CreateMemory"]["properties"]["content"]["anyOf"][0]["maxLength"] == 10_000
    request_fields = CreateMemory.model_json_schema(by_alias=True)["properties"]
    response_fields = MemoryOut.model_json_schema(by_alias=True, mode="serialization")["properties"]
    assert set(schemas["CreateMemory"]["properties"]) == set(request_fields)
    assert set(schemas["MemoryOut"]["properties"]) == set(response_fields)
    assert "userId" in schemas["CreateMemory"]["required"]
    assert schemas["SearchMemories"]["properties"]["threshold"]["anyOf"][0]["maximum"] == 1


def test_mem0_routes_are_described_with_their_trailing_slashes(spec):
    assert "/v1/ping/" in spec["paths"]
    assert spec["paths"]["/v3/memories/add/"]["post"]["tags"] == ["mem0"]
    assert json_schema(spec["paths"]["/v1/memories/search/"]["post"]["responses"]["200"])["type"] == "array"
