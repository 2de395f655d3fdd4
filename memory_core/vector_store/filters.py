"""Translate a :class:`MemoryFilter` into each store's filter, once for every adapter.

:func:`compile_filter` validates the filter and turns it into a small neutral list
of conditions (all of which must hold). :func:`to_edge_filter`,
:func:`to_qdrant_filter` and :func:`to_sql` render that list as a Qdrant Edge
``Filter``, a ``qdrant_client.models.Filter`` or a parameterised SQL condition over
the pgvector store's table, so every store matches exactly the same points.

Metadata conditions (``MemoryFilter.metadata``), keyed by a metadata key that
matches ``^[A-Za-z0-9_-]{1,64}$`` (the key becomes the Qdrant path
``metadata.<key>``, so dots and brackets are refused rather than escaped):

- ``"lang": "en"``: equality (str, int, float or bool)
- ``{"eq": v}``: equality, ``{"ne": v}``: not equal (true where the key is absent)
- ``{"in": [v1, v2]}``: any of; ``{"nin": [...]}``: none of (true where absent)
- ``{"gte"|"gt"|"lte"|"lt": x}``, one or more: a numeric range when the bounds are
  numbers, a date range when they are ISO 8601 strings (``"2024-05-01"``,
  ``"2024-05-01T10:00:00+02:00"``; no zone means UTC). Stored values are compared
  as dates by Qdrant itself (``DatetimeRange`` on both stores), so they must be
  ISO 8601 strings too.

Several operators under one key are ANDed. ``created_after`` is inclusive and
``created_before`` exclusive on ``created_ts``. Anything else raises
:class:`~memory_core.errors.ValidationError` naming the offending key.

Example::

    MemoryFilter(tenant="t", user_id="alice", tags=("work",),
                 metadata={"priority": {"gte": 2}, "due": {"lt": "2025-01-01"}})
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from memory_core.errors import ValidationError
from memory_core.vector_store.base import MemoryFilter

if TYPE_CHECKING:
    import qdrant_edge
    from qdrant_client import models as qdrant_models

METADATA_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
RANGE_OPERATORS = ("gt", "gte", "lt", "lte")
OPERATORS = ("eq", "ne", "in", "nin", *RANGE_OPERATORS)
MAX_METADATA_CONDITIONS = 64
MAX_IN_VALUES = 1000
_INT64 = (-(2**63), 2**63 - 1)

Scalar = Union[str, int, bool]


# -- the neutral conditions -------------------------------------------------------


@dataclass(frozen=True)
class Match:
    key: str
    value: Scalar


@dataclass(frozen=True)
class MatchAnyOf:
    key: str
    values: tuple[str, ...] | tuple[int, ...]


@dataclass(frozen=True)
class Range:
    key: str
    gt: float | str | None = None
    gte: float | str | None = None
    lt: float | str | None = None
    lte: float | str | None = None
    dates: bool = False  # bounds are normalised RFC 3339 UTC strings


@dataclass(frozen=True)
class Not:
    condition: Condition


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Condition, ...]


Condition = Union[Match, MatchAnyOf, Range, Not, AnyOf]


# -- validation and compilation ---------------------------------------------------


def compile_filter(flt: MemoryFilter) -> tuple[Condition, ...]:
    """Validate ``flt`` and return the conditions that must all hold."""
    if not isinstance(flt, MemoryFilter):
        raise ValidationError(f"expected a MemoryFilter, got {type(flt).__name__}")
    conditions: list[Condition] = [Match("tenant", _scope_value("tenant", flt.tenant))]
    for name in ("user_id", "agent_id", "run_id", "hash"):
        value = getattr(flt, name)
        if value is not None:
            conditions.append(Match(name, _scope_value(name, value)))
    conditions.extend(Match("tags", tag) for tag in _tags(flt.tags))
    conditions.extend(_metadata_conditions(flt.metadata))
    created = {
        "gte": _timestamp("created_after", flt.created_after),
        "lt": _timestamp("created_before", flt.created_before),
    }
    if any(v is not None for v in created.values()):
        conditions.append(Range("created_ts", **created))
    return tuple(conditions)


def _scope_value(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(f"filter field '{name}' must be a non-empty string, got {value!r}")
    return value


def _tags(tags: Any) -> tuple[str, ...]:
    if isinstance(tags, (str, bytes)) or not isinstance(tags, (tuple, list)):
        raise ValidationError(f"filter field 'tags' must be a list of strings, got {tags!r}")
    for tag in tags:
        if not isinstance(tag, str) or not tag:
            raise ValidationError(f"filter field 'tags' holds a non-string or empty tag: {tag!r}")
    return tuple(dict.fromkeys(tags))


def _timestamp(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"filter field '{name}' must be epoch microseconds (int), got {value!r}")
    return value


def _metadata_conditions(metadata: Any) -> list[Condition]:
    if metadata is None:
        return []
    if not isinstance(metadata, Mapping):
        raise ValidationError(f"filter field 'metadata' must be a mapping, got {type(metadata).__name__}")
    if len(metadata) > MAX_METADATA_CONDITIONS:
        raise ValidationError(f"filter field 'metadata' has more than {MAX_METADATA_CONDITIONS} keys")
    conditions: list[Condition] = []
    for key, spec in metadata.items():
        if not isinstance(key, str) or not METADATA_KEY.match(key):
            raise ValidationError(
                f"metadata filter key {key!r} is not allowed: use 1-64 letters, digits, '_' or '-'"
            )
        path = f"metadata.{key}"
        if isinstance(spec, Mapping):
            conditions.extend(_operator_conditions(key, path, spec))
        else:
            conditions.append(_equality(key, path, spec))
    return conditions


def _operator_conditions(key: str, path: str, spec: Mapping[Any, Any]) -> list[Condition]:
    if not spec:
        raise ValidationError(f"metadata filter for '{key}' is an empty operator object")
    unknown = [op for op in spec if op not in OPERATORS]
    if unknown:
        raise ValidationError(
            f"metadata filter for '{key}' uses unknown operator {unknown[0]!r} "
            f"(allowed: {', '.join(OPERATORS)})"
        )
    conditions: list[Condition] = []
    if "eq" in spec:
        conditions.append(_equality(key, path, spec["eq"]))
    if "ne" in spec:
        conditions.append(Not(_equality(key, path, spec["ne"])))
    if "in" in spec:
        conditions.append(_any_of(key, path, spec["in"], "in"))
    if "nin" in spec:
        conditions.append(Not(_any_of(key, path, spec["nin"], "nin")))
    bounds = {op: spec[op] for op in RANGE_OPERATORS if op in spec}
    if bounds:
        conditions.append(_range(key, path, bounds))
    return conditions


def _equality(key: str, path: str, value: Any) -> Condition:
    if isinstance(value, (str, bool)):
        return Match(path, value)
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise ValidationError(f"metadata filter for '{key}': integer {value} is out of the 64-bit range")
        return Match(path, value)
    if isinstance(value, float):
        # Qdrant matches only str/int/bool exactly; a float is a one-point range.
        _finite(key, value)
        return Range(path, gte=value, lte=value)
    raise ValidationError(
        f"metadata filter for '{key}' must be a string, number, boolean or operator object, "
        f"got {type(value).__name__}"
    )


def _any_of(key: str, path: str, values: Any, op: str) -> Condition:
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)) or not values:
        raise ValidationError(f"metadata filter for '{key}': '{op}' needs a non-empty list")
    if len(values) > MAX_IN_VALUES:
        raise ValidationError(f"metadata filter for '{key}': '{op}' accepts at most {MAX_IN_VALUES} values")
    if all(isinstance(v, str) for v in values):
        return MatchAnyOf(path, tuple(values))
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        for v in values:
            _equality(key, path, v)  # range check
        return MatchAnyOf(path, tuple(values))
    # Mixed types, floats or booleans: Qdrant's MatchAny takes only strings or only integers.
    return AnyOf(tuple(_equality(key, path, v) for v in values))


def _range(key: str, path: str, bounds: dict[str, Any]) -> Range:
    if all(isinstance(v, str) for v in bounds.values()):
        return Range(path, dates=True, **{op: _iso_utc(key, op, v) for op, v in bounds.items()})
    for op, v in bounds.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValidationError(
                f"metadata filter for '{key}': '{op}' needs a number or an ISO 8601 date string "
                f"(all bounds of one kind), got {v!r}"
            )
        _finite(key, v)
        if isinstance(v, int) and abs(v) > 2**63:
            raise ValidationError(f"metadata filter for '{key}': {op} bound {str(v)[:30]}... is out of range")
    return Range(path, **{op: float(v) for op, v in bounds.items()})


def _finite(key: str, value: float) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"metadata filter for '{key}': {value} is not a finite number")


def _iso_utc(key: str, op: str, value: str) -> str:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(
            f"metadata filter for '{key}': '{op}' value {value!r} is not an ISO 8601 date"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except OverflowError:  # e.g. 9999-12-31T23:59:59-12:00 is past year 9999 in UTC
        raise ValidationError(f"metadata filter for '{key}': '{op}' value {value!r} is out of range") from None


# -- rendering ---------------------------------------------------------------------


def to_edge_filter(flt: MemoryFilter) -> qdrant_edge.Filter:
    """``flt`` as a Qdrant Edge filter."""
    import qdrant_edge as qe

    return qe.Filter(must=[edge_condition(c) for c in compile_filter(flt)])


def edge_condition(cond: Condition) -> Any:
    """One compiled condition as a Qdrant Edge condition."""
    import qdrant_edge as qe

    if isinstance(cond, Match):
        value = cond.value
        # qdrant-edge-py 0.9.0 turns a Python bool into the integer 0/1 (so True
        # matched the number 1 and never a stored true); numpy.bool_ reaches Rust as a bool.
        if isinstance(value, bool):
            value = np.bool_(value)
        return qe.FieldCondition(cond.key, match=qe.MatchValue(value))
    if isinstance(cond, MatchAnyOf):
        return qe.FieldCondition(cond.key, match=qe.MatchAny(list(cond.values)))
    if isinstance(cond, Range):
        cls = qe.RangeDateTime if cond.dates else qe.RangeFloat
        return qe.FieldCondition(cond.key, range=cls(gt=cond.gt, gte=cond.gte, lt=cond.lt, lte=cond.lte))
    if isinstance(cond, Not):
        return qe.Filter(must_not=[edge_condition(cond.condition)])
    return qe.Filter(should=[edge_condition(c) for c in cond.conditions])


def to_qdrant_filter(flt: MemoryFilter) -> qdrant_models.Filter:
    """``flt`` as a ``qdrant_client.models.Filter`` (server or local mode)."""
    # Imported here: qdrant_client.models takes over a second to import and the
    # embedded store never needs it.
    from qdrant_client import models as qm

    def render(cond: Condition) -> Any:
        if isinstance(cond, Match):
            return qm.FieldCondition(key=cond.key, match=qm.MatchValue(value=cond.value))
        if isinstance(cond, MatchAnyOf):
            return qm.FieldCondition(key=cond.key, match=qm.MatchAny(any=list(cond.values)))
        if isinstance(cond, Range):
            cls = qm.DatetimeRange if cond.dates else qm.Range
            return qm.FieldCondition(key=cond.key, range=cls(gt=cond.gt, gte=cond.gte, lt=cond.lt, lte=cond.lte))
        if isinstance(cond, Not):
            return qm.Filter(must_not=[render(cond.condition)])
        return qm.Filter(should=[render(c) for c in cond.conditions])

    return qm.Filter(must=[render(c) for c in compile_filter(flt)])


# -- SQL (the pgvector store) --------------------------------------------------------

# PostgreSQL text and jsonb cannot hold U+0000. Strings that contain it (or start with
# the marker) are compared in this injective form, both where the pgvector store keeps
# its filter columns and in the filter, so equality still means equality.
_NUL_MARK = "\ue000"
_SQL_COLUMNS = {"tenant", "user_id", "agent_id", "run_id", "hash"}
_JSONPATH_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def sql_text(value: str) -> str:
    """``value`` as the pgvector store compares it (see ``_NUL_MARK``)."""
    if "\x00" in value or value.startswith(_NUL_MARK):
        return _NUL_MARK + value.encode("utf-8", "surrogatepass").hex()
    return value


def sql_json(value: Any) -> Any:
    """``value`` (JSON) with every string, keys included, passed through :func:`sql_text`."""
    if isinstance(value, str):
        return sql_text(value)
    if isinstance(value, dict):
        return {sql_text(str(k)): sql_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [sql_json(v) for v in value]
    return value


def to_sql(flt: MemoryFilter) -> tuple[str, list[Any]]:
    """``flt`` as a SQL boolean over the pgvector table (``%s`` placeholders, params).

    The table has text columns tenant, user_id, agent_id, run_id and hash, jsonb
    columns tags and metadata, and a bigint created_ts (memory_core/vector_store/pgvector.py).
    Qdrant's semantics are kept: a condition on a metadata key that holds a list holds
    if it holds for any element; a missing key fails every condition, so ``Not`` of it
    holds; numbers never match strings; date ranges compare ISO 8601 strings as
    instants (``memproxy_datetime``, created by the store's schema; no zone means UTC).
    """
    params: list[Any] = []

    def value_of(key: str) -> str:
        if not key.startswith("metadata."):
            raise ValueError(f"no SQL rendering for a condition on {key!r}")
        params.append(key[len("metadata."):])
        return "(metadata -> %s)"

    def render(cond: Condition) -> str:
        if isinstance(cond, Match):
            if cond.key in _SQL_COLUMNS:  # the scope: plain comparisons, so the indexes apply
                params.append(sql_text(str(cond.value)))
                return f"{cond.key} = %s"
            target = "tags" if cond.key == "tags" else value_of(cond.key)
            params.append(json.dumps(sql_json(cond.value)))
            # jsonb containment of a scalar: equal to it, or a list holding it
            return f"COALESCE({target} @> %s::jsonb, false)"
        if isinstance(cond, MatchAnyOf):
            target = value_of(cond.key)
            params.append([json.dumps(sql_json(v)) for v in cond.values])
            return f"COALESCE({target} @> ANY(%s::jsonb[]), false)"
        if isinstance(cond, Range):
            bounds = {op: getattr(cond, op) for op in _JSONPATH_OPS if getattr(cond, op) is not None}
            if cond.key == "created_ts":
                params.extend(bounds.values())
                return " AND ".join(f"created_ts {_JSONPATH_OPS[op]} %s" for op in bounds)
            target = value_of(cond.key)
            if cond.dates:
                params.extend(bounds.values())
                checks = " AND ".join(f"memproxy_datetime(e.v) {_JSONPATH_OPS[op]} %s::timestamptz" for op in bounds)
                return (f"EXISTS (SELECT 1 FROM (SELECT {target} AS x) AS m, jsonb_array_elements(CASE "
                        "jsonb_typeof(m.x) WHEN 'array' THEN m.x ELSE jsonb_build_array(m.x) END) AS e(v) "
                        f"WHERE {checks})")
            path = " && ".join(f"@ {_JSONPATH_OPS[op]} ${op}" for op in bounds)
            params.append(json.dumps(bounds))
            # lax jsonpath: a list is unwrapped; comparing a number with a string is false
            return f"COALESCE(jsonb_path_exists({target}, '$ ? ({path})', %s::jsonb), false)"
        if isinstance(cond, Not):
            return f"NOT {render(cond.condition)}"
        return "(" + " OR ".join(render(c) for c in cond.conditions) + ")"

    return " AND ".join(render(c) for c in compile_filter(flt)), params
