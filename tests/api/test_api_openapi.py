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
    assert json_schema(create["responses"]["201"]) == ref("MemoryOut")
    assert json_schema(create["responses"]["200"])["oneOf"] == [ref("MemoryOut"), ref("MemoryEvents")]
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


def test_path_parameters_say_which_values_can_name_something(spec):
    memory_id = {"type": "string", "pattern": "^mem_[0-9a-f]{32}$"}
    for path, method in [("/v1/memories/{id}", "get"), ("/v1/memories/{id}", "patch"),
                         ("/v1/memories/{id}", "delete"), ("/v1/memories/{id}/history", "get"),
                         ("/v1/memories/{memory_id}/", "get"), ("/v1/memories/{memory_id}/", "put"),
                         ("/v1/memories/{memory_id}/", "delete"), ("/v1/memories/{memory_id}/history/", "get")]:
        [param] = spec["paths"][path][method]["parameters"]
        assert param["in"] == "path" and param["required"] is True
        assert memory_id.items() <= param["schema"].items(), (path, method)
    entity = {p["name"]: p["schema"] for p in
              spec["paths"]["/v2/entities/{entity_type}/{entity_id}/"]["delete"]["parameters"]}
    assert entity["entity_type"]["enum"] == ["user", "agent", "run"]
    assert entity["entity_id"]["minLength"] == 1 and entity["entity_id"]["pattern"]


def test_texts_the_server_refuses_when_blank_are_described_as_non_blank(spec):
    schemas = spec["components"]["schemas"]
    texts = [schemas["SearchMemories"]["properties"]["query"],
             schemas["CreateMemory"]["properties"]["content"]["anyOf"][0],
             schemas["UpdateMemory"]["properties"]["content"]["anyOf"][0],
             schemas["Mem0Search"]["properties"]["query"]]
    for text in texts:
        assert text["minLength"] == 1 and text["pattern"].startswith("[^"), text
    assert schemas["SearchMemories"]["properties"]["query"]["maxLength"] == 10_000


def test_the_required_subject_is_described_for_bodies_and_query_strings(spec):
    schemas = spec["components"]["schemas"]
    alternatives = [alt["required"] for alt in schemas["SearchMemories"]["anyOf"]]
    assert alternatives == [["userId"], ["agentId"], ["runId"]]
    assert [alt["required"] for alt in schemas["Mem0Search"]["anyOf"]] == [
        ["user_id"], ["agent_id"], ["run_id"], ["filters"]]
    for method in ("get", "delete"):
        operation = spec["paths"]["/v1/memories"][method]
        assert operation["x-required-any-of"] == ["userId", "agentId", "runId"]
        assert "At least one of userId, agentId, runId is required." in operation["description"]
        assert not any(p["required"] for p in operation["parameters"])
        assert all("null" not in str(p["schema"]) for p in operation["parameters"])  # absent, or text


def test_unimplemented_mem0_features_document_no_success(spec):
    feedback = spec["paths"]["/v1/feedback/"]["post"]["responses"]
    assert "501" in feedback and not any(status.startswith("2") for status in feedback)
    assert spec["components"]["schemas"]["Mem0Error"]["required"] == ["detail", "code"]
