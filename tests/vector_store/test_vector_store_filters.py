"""MemoryFilter validation and its translation, independent of any store."""

from __future__ import annotations

import pytest

from memory_core.errors import ValidationError
from memory_core.vector_store import MemoryFilter
from memory_core.vector_store.filters import (
    AnyOf,
    Match,
    MatchAnyOf,
    Not,
    Range,
    compile_filter,
    to_edge_filter,
    to_qdrant_filter,
    to_sql,
)


def test_the_tenant_is_always_the_first_condition():
    assert compile_filter(MemoryFilter(tenant="acme")) == (Match("tenant", "acme"),)


def test_scope_tags_hash_and_time_window_become_conditions():
    flt = MemoryFilter(
        tenant="acme", user_id="alice", agent_id="bot", run_id="r1", tags=("a", "b", "a"),
        hash="h", created_after=10, created_before=20,
    )
    assert compile_filter(flt) == (
        Match("tenant", "acme"), Match("user_id", "alice"), Match("agent_id", "bot"),
        Match("run_id", "r1"), Match("hash", "h"), Match("tags", "a"), Match("tags", "b"),
        Range("created_ts", gte=10, lt=20),
    )


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"k": "v"}, Match("metadata.k", "v")),
        ({"k": 1.5}, Range("metadata.k", gte=1.5, lte=1.5)),
        ({"k": {"ne": True}}, Not(Match("metadata.k", True))),
        ({"k": {"in": ["a", "b"]}}, MatchAnyOf("metadata.k", ("a", "b"))),
        ({"k": {"in": [1, "b"]}}, AnyOf((Match("metadata.k", 1), Match("metadata.k", "b")))),
        ({"k": {"nin": [1, 2]}}, Not(MatchAnyOf("metadata.k", (1, 2)))),
        ({"k": {"gt": 1, "lte": 5}}, Range("metadata.k", gt=1.0, lte=5.0)),
        (
            {"k": {"gte": "2024-05-01T10:00:00+02:00"}},
            Range("metadata.k", gte="2024-05-01T08:00:00.000000Z", dates=True),
        ),
        ({"k": {"lt": "2024-05-01"}}, Range("metadata.k", lt="2024-05-01T00:00:00.000000Z", dates=True)),
    ],
    ids=repr,
)
def test_metadata_conditions_compile_to_neutral_conditions(condition, expected):
    assert compile_filter(MemoryFilter(tenant="t", metadata=condition))[1:] == (expected,)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"tenant": ""}, "tenant"),
        ({"tenant": None}, "tenant"),
        ({"user_id": 42}, "user_id"),
        ({"agent_id": ""}, "agent_id"),
        ({"tags": "work"}, "tags"),
        ({"tags": ("ok", 3)}, "tags"),
        ({"hash": b"x"}, "hash"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_before": True}, "created_before"),
        ({"metadata": ["k", "v"]}, "metadata"),
        ({"metadata": {"k": {"regex": ".*"}}}, "'k'"),
        ({"metadata": {"k": {"in": [[1]]}}}, "'k'"),
        ({"metadata": {"k": {"gte": [1]}}}, "'k'"),
        ({"metadata": {"k": {"gte": "2024-13-45"}}}, "'k'"),
        ({"metadata": {"k": 2**70}}, "'k'"),
        ({"metadata": {"k": float("inf")}}, "'k'"),
        ({"metadata": {"k": object()}}, "'k'"),
        ({"metadata": {"k.sub": 1}}, "'k.sub'"),
        ({"metadata": {"k[0]": 1}}, "'k[0]'"),
        ({"metadata": {"a b": 1}}, "'a b'"),
        ({"metadata": {1: 1}}, "1"),
        ({"metadata": {f"k{i}": i for i in range(65)}}, "metadata"),
        ({"metadata": {"k": {"in": list(range(1001))}}}, "'k'"),
    ],
    ids=repr,
)
def test_invalid_filters_raise_validation_error_naming_the_key(fields, named):
    flt = MemoryFilter(**{"tenant": "acme", **fields})
    with pytest.raises(ValidationError) as caught:
        compile_filter(flt)
    assert named in str(caught.value)
    assert caught.value.status == 400


def test_something_that_is_not_a_memory_filter_is_refused():
    with pytest.raises(ValidationError):
        compile_filter({"tenant": "acme"})  # type: ignore[arg-type]


def test_every_operator_renders_for_every_store():
    flt = MemoryFilter(
        tenant="acme", user_id="alice", tags=("x",), created_after=1,
        metadata={
            "a": "s", "b": 2, "c": 1.5, "d": True,
            "e": {"in": ["x"], "nin": [1], "ne": False},
            "f": {"in": [1.5, "x", True]},
            "g": {"gte": 1, "lt": 2},
            "h": {"gt": "2024-01-01", "lte": "2024-02-01T00:00:00Z"},
        },
    )
    edge = to_edge_filter(flt)
    client = to_qdrant_filter(flt)
    assert len(edge.must) == len(client.must) == len(compile_filter(flt))
    sql, params = to_sql(flt)
    assert sql.count("%s") == len(params) and sql.count(" AND ") >= len(compile_filter(flt)) - 1


def test_sql_filters_keep_every_value_out_of_the_statement():
    hostile = "x'); DROP TABLE memproxy_memories; --"
    sql, params = to_sql(MemoryFilter(tenant=hostile, user_id=hostile, tags=(hostile,),
                                      metadata={"k": hostile, "d": {"gte": "2024-01-01"}, "n": {"in": [hostile]}}))
    assert "DROP" not in sql and hostile in params
