"""Mem0's wire conventions, translated once: whose memories a
call is about (top-level ids, a ``filters`` dict, or the 2.x query string's Python
dict literal), and Mem0's memory item."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from proxy.errors import InvalidRequest, InvalidUserId

ENTITY_KEYS = ("user_id", "agent_id", "run_id")
_IGNORED_FILTERS = {"app_id"}
_UNSUPPORTED_FILTERS = {"OR", "NOT", "categories", "created_at", "updated_at", "keywords", "memory_ids"}
_MAX_FILTERS_PARAM = 4096

def mem0_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """memory_core's item in Mem0's shape (the same keys, plus Mem0's ``categories``)."""
    return {**item, "categories": []}


def mem0_event(result: Mapping[str, Any]) -> dict[str, Any]:
    memory = result.get("memory")
    out = {"id": result["id"], "memory": memory, "event": result["event"], "data": {"memory": memory}}
    if result.get("previous_memory") is not None:
        out["previous_memory"] = result["previous_memory"]
    return out


@dataclass
class Selection:
    """The subject of a call and the metadata conditions it adds."""

    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def scope(self, tenant: str) -> dict[str, Any]:
        if not (self.user_id or self.agent_id or self.run_id):
            raise InvalidUserId("one of user_id, agent_id or run_id is required "
                                "(top level, or in filters={'user_id': ...})")
        return {"user_id": self.user_id, "agent_id": self.agent_id, "run_id": self.run_id, "tenant": tenant}

    @property
    def filters(self) -> dict[str, Any] | None:
        return self.metadata or None


def select(ids: Mapping[str, Any], filters: Any) -> Selection:
    """Merge top-level ids with those inside ``filters`` (flat, or under ``AND``)."""
    chosen = Selection()
    for key in ENTITY_KEYS:
        if ids.get(key) is not None:
            _set_id(chosen, key, ids[key])
    for clause in _clauses(filters):
        for key, value in clause.items():
            if key in ENTITY_KEYS:
                _set_id(chosen, key, value)
            elif key in _IGNORED_FILTERS:
                continue
            elif key == "metadata":
                if not isinstance(value, dict):
                    raise InvalidRequest("filters.metadata must be an object of metadata conditions")
                chosen.metadata.update(value)
            elif key in _UNSUPPORTED_FILTERS:
                raise InvalidRequest(f"filter {key!r} is not supported by memproxy")
            else:
                chosen.metadata[key] = value
    return chosen


def _set_id(chosen: Selection, key: str, value: Any) -> None:
    if not isinstance(value, str) or value.strip() in ("", "*"):
        raise InvalidUserId(f"{key} must be one id (a non-empty string); lists and wildcards are not supported")
    current = getattr(chosen, key)
    if current is not None and current != value:
        raise InvalidRequest(f"{key} is given twice with different values ({current!r} and {value!r})")
    setattr(chosen, key, value)


def _clauses(filters: Any) -> Iterable[dict[str, Any]]:
    if filters is None:
        return []
    if not isinstance(filters, dict):
        raise InvalidRequest("filters must be an object, e.g. {'user_id': 'alice'}")
    out: list[dict[str, Any]] = []
    rest = {k: v for k, v in filters.items() if k not in ("AND", "OR")}
    if rest:
        out.append(rest)
    for op in ("AND", "OR"):
        if op not in filters:
            continue
        parts = filters[op]
        if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
            raise InvalidRequest(f"filters.{op} must be a list of objects")
        if op == "OR" and len(parts) > 1:
            raise InvalidRequest("filters with OR over several conditions are not supported by memproxy")
        for part in parts:
            out.extend(_clauses(part))
    return out


def parse_filters_param(text: str | None) -> dict[str, Any] | None:
    """The ``filters`` query parameter: JSON, or the Python dict literal that Mem0's 2.x
    SDK sends (httpx writes a dict parameter with ``str()``: ``{'user_id': 'alice'}``)."""
    if text is None or not text.strip():
        return None
    if len(text) > _MAX_FILTERS_PARAM:
        raise InvalidRequest(f"the filters parameter is longer than {_MAX_FILTERS_PARAM} characters")
    try:
        value = json.loads(text)
    except RecursionError:
        raise InvalidRequest("filters are nested too deeply") from None
    except ValueError:
        try:
            value = ast.literal_eval(text)  # literals only: never evaluates code
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise InvalidRequest("filters must be a JSON object (or a Python dict literal)") from None
    if not isinstance(value, dict):
        raise InvalidRequest("filters must be an object, e.g. {'user_id': 'alice'}")
    return value


def int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be an integer, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise InvalidRequest(f"{name} must be between {low} and {high}, got {value}")
    return value
