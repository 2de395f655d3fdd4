"""Each constraint ``/openapi.json`` states holds on the server, read from the document
itself: values outside it are refused with a 400 (never stored, never a 500), values
just inside it are taken. And the document's patterns are the server's rules: what an
ECMA-262 regex (JSON Schema's meaning) accepts is what memory_core accepts."""

from __future__ import annotations

import httpx
import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory_core.errors import MissingScopeError, ValidationError
from memory_core.scope import clean_id
from memory_core.validation import MAX_TAG_CHARS, clean_tags

MISSING = "mem_" + "0" * 32


@pytest.fixture(scope="module")
def spec(live):
    return httpx.get(f"{live.url}/openapi.json").json()


def schemas(spec):
    return spec["components"]["schemas"]


def matches(schema: dict, value) -> bool:
    return jsonschema_rs.validator_for(schema).is_valid(value)


def error_code(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    return body["error"]["code"] if "error" in body else body["code"]


@pytest.fixture
def mem0(live, alice):
    with httpx.Client(base_url=live.url, timeout=30, headers={"Authorization": f"Token {alice.key}"}) as client:
        yield client


# -- memory ids: ^mem_[0-9a-f]{32}$ on every {id} and {memory_id} -----------------------


@pytest.mark.parametrize("bad_id", ["not-an-id", "mem_123", "mem_" + "g" * 32, "mem_" + "0" * 33, "记忆"])
def test_an_id_outside_the_pattern_is_a_400_validation_error_on_every_item_route(api, spec, bad_id):
    routes = [(path, method) for path, item in spec["paths"].items() for method, op in item.items()
              if any(p["in"] == "path" and p["schema"].get("pattern") == "^mem_[0-9a-f]{32}$"
                     for p in op.get("parameters", ()))]
    assert len(routes) == 8
    for path, method in routes:
        schema = next(p["schema"] for p in spec["paths"][path][method]["parameters"] if p["in"] == "path")
        assert not matches(schema, bad_id)
        url = path.replace("{id}", bad_id).replace("{memory_id}", bad_id)
        body = {"content": "x"} if method == "patch" else {"text": "x"} if method == "put" else None
        response = api.request(method.upper(), url, json=body)
        assert error_code(response, 400) == "VALIDATION_ERROR", (method, path)


def test_an_id_inside_the_pattern_names_a_memory_or_is_not_found(api, user_id):
    created = api.post("/v1/memories", json={"content": "I like tea", "userId": user_id}).json()
    assert matches({"pattern": "^mem_[0-9a-f]{32}$"}, created["id"])
    assert api.get(f"/v1/memories/{created['id']}").status_code == 200
    assert error_code(api.get(f"/v1/memories/{MISSING}"), 404) == "MEMORY_NOT_FOUND"
    assert error_code(api.get(f"/v1/memories/{MISSING}/"), 404) == "MEMORY_NOT_FOUND"


def test_an_entity_type_outside_the_enum_is_a_400(mem0, spec):
    [kind] = [p for p in spec["paths"]["/v2/entities/{entity_type}/{entity_id}/"]["delete"]["parameters"]
              if p["name"] == "entity_type"]
    assert not matches(kind["schema"], "users")
    assert error_code(mem0.delete("/v2/entities/users/alice/"), 400) == "VALIDATION_ERROR"
    assert mem0.delete("/v2/entities/user/alice/").status_code == 200


# -- non-empty text: minLength 1 and a non-whitespace character --------------------------


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "\u3000"])
def test_an_empty_or_blank_query_is_a_400_on_every_search(api, mem0, spec, user_id, query):
    assert not matches(schemas(spec)["SearchMemories"]["properties"]["query"], query)
    assert not matches(schemas(spec)["Mem0Search"]["properties"]["query"], query)

    rest = api.post("/v1/memories/search", json={"query": query, "userId": user_id})
    assert error_code(rest, 400) == "VALIDATION_ERROR"
    for path in ("/v1/memories/search/", "/v2/memories/search/", "/v3/memories/search/"):
        assert error_code(mem0.post(path, json={"query": query, "user_id": user_id}), 400) == "VALIDATION_ERROR"


@pytest.mark.parametrize("content", ["", "  ", "\n"])
def test_empty_or_blank_content_is_a_400_and_stores_nothing(api, spec, user_id, content):
    assert not matches(schemas(spec)["CreateMemory"]["properties"]["content"], content)
    assert error_code(api.post("/v1/memories", json={"content": content, "userId": user_id}), 400) == \
        "VALIDATION_ERROR"
    assert api.get("/v1/memories", params={"userId": user_id}).json()["pagination"]["total"] == 0


# -- the subject: at least one of userId, agentId, runId ---------------------------------


def test_search_needs_one_of_the_documented_subjects_and_takes_each(api, spec):
    alternatives = [alt["required"][0] for alt in schemas(spec)["SearchMemories"]["anyOf"]]
    assert error_code(api.post("/v1/memories/search", json={"query": "tea"}), 400) == "INVALID_USER_ID"
    for name in alternatives:
        assert api.post("/v1/memories/search", json={"query": "tea", name: "s1"}).status_code == 200, name


@pytest.mark.parametrize("method", ["get", "delete"])
def test_listing_and_bulk_delete_need_one_of_the_documented_subjects(api, spec, method):
    needed = spec["paths"]["/v1/memories"][method]["x-required-any-of"]
    assert error_code(api.request(method.upper(), "/v1/memories"), 400) == "INVALID_USER_ID"
    for name in needed:
        assert api.request(method.upper(), "/v1/memories", params={name: "s1"}).status_code == 200, name


def test_mem0_calls_need_a_subject_at_the_top_or_in_filters(mem0, spec):
    alternatives = [alt["required"][0] for alt in schemas(spec)["Mem0Search"]["anyOf"]]
    assert alternatives == ["user_id", "agent_id", "run_id", "filters"]
    assert error_code(mem0.post("/v3/memories/search/", json={"query": "tea"}), 400) == "INVALID_USER_ID"
    for name in alternatives[:3]:
        assert mem0.post("/v3/memories/search/", json={"query": "tea", name: "s1"}).status_code == 200
    assert mem0.post("/v3/memories/search/", json={"query": "tea", "filters": {"user_id": "s1"}}).status_code == 200


# -- lengths and item rules ----------------------------------------------------------------


def test_subject_ids_tags_and_content_are_taken_up_to_their_documented_maximum(api, spec, user_id):
    create = schemas(spec)["CreateMemory"]["properties"]
    longest_id = create["userId"]["maxLength"]
    tag = create["tags"]["anyOf"][0]
    most_tags, content = tag["maxItems"], create["content"]["anyOf"][0]["maxLength"]
    assert (longest_id, most_tags, content) == (128, 32, 10_000)

    ok = api.post("/v1/memories", json={"content": "c" * content, "userId": "u" * longest_id,
                                        "tags": [f"t{i}" for i in range(most_tags - 1)] + ["x" * MAX_TAG_CHARS]})
    assert ok.status_code == 201, ok.text
    too_long_id = api.post("/v1/memories", json={"content": "c", "userId": "u" * (longest_id + 1)})
    too_many = api.post("/v1/memories", json={"content": "c", "userId": user_id,
                                              "tags": [f"t{i}" for i in range(most_tags + 1)]})
    too_long_tag = api.post("/v1/memories", json={"content": "c", "userId": user_id, "tags": ["x" * 65]})
    assert error_code(too_long_id, 400) == "INVALID_USER_ID"
    assert error_code(too_many, 400) == "VALIDATION_ERROR"
    assert error_code(too_long_tag, 400) == "VALIDATION_ERROR"
    assert not matches(tag["items"], "x" * 65) and matches(tag["items"], "  " + "x" * 64 + " ")


def test_metadata_keys_outside_the_documented_names_are_a_400(api, spec, user_id):
    keys = schemas(spec)["CreateMemory"]["properties"]["metadata"]["propertyNames"]
    assert not matches(keys, "bad key!") and matches(keys, "good_key-1")
    bad = api.post("/v1/memories", json={"content": "c", "userId": user_id, "metadata": {"bad key!": 1}})
    good = api.post("/v1/memories", json={"content": "c", "userId": user_id, "metadata": {"good_key-1": 1}})
    assert error_code(bad, 400) == "VALIDATION_ERROR" and good.status_code == 201


# -- the document's patterns are memory_core's rules ---------------------------------------

# Text made mostly of the characters the rules are about: every kind of whitespace,
# control characters, the wildcard, and a few ordinary letters.
_EDGY = st.text(st.sampled_from(
    list("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000")
    + list("\x00\x07\x7f\ufeff\u200b*/aZ9é记")), max_size=12)


def _accepted(rule, value) -> bool:
    try:
        rule(value)
        return True
    except (MissingScopeError, ValidationError):
        return False


@settings(max_examples=400, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_EDGY)
def test_the_subject_id_pattern_accepts_exactly_what_memory_core_accepts(value):
    from proxy.schemas.rules import MEM0_SUBJECT_ID, SUBJECT_ID

    assert matches({"pattern": SUBJECT_ID}, value) == _accepted(lambda v: clean_id("user_id", v), value)
    mem0_rule = value.strip() != "*" and _accepted(lambda v: clean_id("user_id", v), value)
    assert matches({"pattern": MEM0_SUBJECT_ID}, value) == mem0_rule


@settings(max_examples=400, derandomize=True, database=None)
@given(value=_EDGY, padding=st.integers(0, 70))
def test_the_tag_and_non_blank_patterns_accept_exactly_what_memory_core_accepts(value, padding):
    from proxy.schemas.rules import NOT_BLANK, TAG

    long_value = value + "x" * padding
    assert matches({"pattern": TAG}, long_value) == _accepted(lambda v: clean_tags([v]), long_value)
    assert matches({"pattern": NOT_BLANK}, value) == bool(value.strip())


def test_subject_id_lengths_are_counted_without_the_surrounding_whitespace():
    from proxy.schemas.rules import MEM0_SUBJECT_ID

    for value in ("x" * 128, " \t" + "x" * 128 + "\u3000", "x" * 129):
        assert matches({"pattern": MEM0_SUBJECT_ID}, value) == _accepted(lambda v: clean_id("user_id", v), value)
