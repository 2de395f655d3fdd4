"""Schemathesis fuzzes every operation that ``/openapi.json`` describes, and the server
keeps the contract that document states.

The document is loaded over HTTP from a live server (real AsyncMemory, real offline
embedder, see conftest.py), and every generated request goes to that server over HTTP
with a valid key of a tenant of its own. For each operation, Schemathesis sends the
documented examples, its coverage cases (boundary values, and values just outside each
constraint) and, here, up to :data:`EXAMPLES` random requests, both valid ("positive")
and malformed ("negative"). Each answer must hold:

* ``not_a_server_error``: no request, however malformed, gets a 5xx. The Mem0 platform
  features memproxy does not implement are the exception: they answer the 501 their
  operations document (or a 4xx, such as 401 without a key), never a success.
* ``status_code_conformance``: the status is one the operation documents.
* ``content_type_conformance``: the ``Content-Type`` is one the operation documents.
* ``response_schema_conformance``: the body matches the documented schema for that
  status: the success models, and each API family's error body.

What OpenAPI cannot state, the document states in an extension the fuzzer reads: an
operation with ``x-required-any-of`` needs at least one of those query parameters
(the subject: userId, agentId or runId), so a generated query without any gets one.
A generated path parameter with a slash (or, in the last segment, a line feed) is not
sent: that URL is another path's, which no operation here serves.

Runs are reproducible: a fixed seed, Hypothesis derandomized, no example database.
"""

from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import unquote

import httpx
import pytest
import requests

schemathesis = pytest.importorskip("schemathesis", reason="Schemathesis 4 needs Python 3.11 or newer")
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = 25
SEED = 20_260_611
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_key(key_store) -> dict[str, str]:
    """A valid key whose tenant nothing else uses, for every fuzzed request."""
    _, secret = key_store.create(tenant="fuzz", name="schemathesis")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    """One connection for all the fuzzed requests."""
    with requests.Session() as session:
        yield session


@pytest.fixture
def _pytest_nodeid_shim(request: pytest.FixtureRequest) -> Iterator[None]:
    # schemathesis 4.32.5's from_fixture reads and writes ``request.node._nodeid``, which
    # pytest 9.2 no longer has: give it one (it only names the per-operation subtests).
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    yield


@pytest.fixture
def api_schema(live, fuzz_key, _pytest_nodeid_shim):
    config = schemathesis.Config.from_dict({
        "seed": SEED,
        "headers": fuzz_key,
        "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True, "database": "none"},
        # A loaded CI machine generates slowly; that is no failure of the server's.
        "suppress-health-check": ["too_slow", "data_too_large", "filter_too_much", "large_base_example"],
        "request-timeout": 30,
    })
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json", config=config)
    schema.hook("map_query")(_with_a_subject)
    return schema


def _with_a_subject(context: schemathesis.HookContext, query: dict[str, Any] | None) -> dict[str, Any] | None:
    """A generated query for an operation with ``x-required-any-of`` that names none of
    those parameters gets the first (the rest of the query stays as generated)."""
    needed = context.operation.definition.raw.get("x-required-any-of") if context.operation else None
    if not needed or query is None or any(name in query for name in needed):
        return query
    return {**query, needed[0]: "fuzz-user"}


def _routable(case: schemathesis.Case) -> bool:
    """Whether the case's URL is one of its operation's: a path parameter with a slash
    (or, in the last segment, a line feed) makes the URL of another path, which no
    operation of this document serves (the router answers 404 NOT_FOUND)."""
    values = [unquote(str(value)) for value in (case.path_parameters or {}).values()]  # sent percent-encoded
    return not any("/" in value or "\n" in value for value in values)


def _never_implemented(case: schemathesis.Case) -> bool:
    """An operation memproxy does not implement: it documents a 501 and no success. (Its
    URL may still reach another operation with another method: Mem0's
    DELETE /v2/entities/user/{entity_id:path}/ takes /v2/entities/user/x/profile/.)"""
    responses = case.operation.definition.raw["responses"]
    return ("501" in responses and not any(status.startswith("2") for status in responses)
            and case.method.upper() == case.operation.method.upper())


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@pytest.mark.slow  # about 50 s of CPU: some 2,000 requests, most of the time in generating them
def test_every_operation_keeps_its_documented_contract(case, http):
    if not _routable(case):
        return
    if _never_implemented(case):
        response = case.call_and_validate(session=http, checks=CONFORMANCE)
        assert response.status_code == 501 or 400 <= response.status_code < 500, response.text
    else:
        case.call_and_validate(session=http, checks=[not_a_server_error, *CONFORMANCE])


def test_schemathesis_reads_every_operation_of_the_served_document(live):
    """Nothing is left out of the fuzzing: every operation of /openapi.json (as any
    client gets it, without a key) loads without a schema error."""
    spec = httpx.get(f"{live.url}/openapi.json").json()
    documented = {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item}
    loaded = [result.ok() for result in schemathesis.openapi.from_dict(spec).get_all_operations()]
    assert {operation.label for operation in loaded} == documented
