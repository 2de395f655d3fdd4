"""Whose memory a chat request uses, and what memory may do for it.

The subject comes from, in order of precedence:

- ``user_id`` / ``agent_id`` / ``run_id`` in the body (what the OpenAI SDK's
  ``extra_body={"user_id": ...}`` sends),
- the ``X-Memory-User-Id`` / ``X-Memory-Agent-Id`` / ``X-Memory-Run-Id`` headers,
- OpenAI's standard ``user`` field (as the user id).

Per-request controls come from a ``memory`` object in the body
(``{"read": false, "write": true, "limit": 5, "threshold": 0.6}``) or the
``X-Memory-Read`` / ``X-Memory-Write`` / ``X-Memory-Limit`` / ``X-Memory-Threshold``
headers; the body wins. Both are removed from the body before it goes upstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from memory_core.errors import MissingScopeError
from memory_core.scope import clean_id
from proxy.config import InjectionConfig, WriterConfig
from proxy.errors import InvalidRequest, InvalidUserId

SCOPE_FIELDS = ("user_id", "agent_id", "run_id")
_HEADER_OF = {"user_id": "x-memory-user-id", "agent_id": "x-memory-agent-id", "run_id": "x-memory-run-id"}


@dataclass(frozen=True, slots=True)
class Subject:
    tenant: str
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None

    @property
    def key(self) -> str:
        """Identifies the subject in the write queue (its writes are applied in order)."""
        return "\x1f".join((self.tenant, self.user_id or "", self.agent_id or "", self.run_id or ""))

    def scope(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "agent_id": self.agent_id, "run_id": self.run_id, "tenant": self.tenant}


@dataclass(frozen=True, slots=True)
class MemoryControls:
    read: bool
    write: bool
    limit: int
    threshold: float | None


def take_subject(body: dict[str, Any], headers: Mapping[str, str], tenant: str) -> Subject | None:
    """Pop the memory ids out of ``body`` and return the subject, or None if there is none."""
    ids: dict[str, str | None] = {}
    for name in SCOPE_FIELDS:
        value = body.pop(name, None)
        if value is None:
            value = headers.get(_HEADER_OF[name])
        ids[name] = _clean_id(value, name)
    if not any(ids.values()):
        ids["user_id"] = _clean_id(body.get("user"), "user")  # OpenAI's field: kept in the body
    if not any(ids.values()):
        return None
    return Subject(tenant=tenant, **ids)


def take_controls(
    body: dict[str, Any], headers: Mapping[str, str], injection: InjectionConfig, writer: WriterConfig
) -> MemoryControls:
    """Pop the ``memory`` object out of ``body`` and merge it with headers and defaults."""
    given = body.pop("memory", None)
    if given is None:
        given = {}
    elif not isinstance(given, dict):
        raise InvalidRequest("`memory` must be an object like {\"read\": true, \"write\": false}.", param="memory")
    unknown = set(given) - {"read", "write", "limit", "threshold"}
    if unknown:
        raise InvalidRequest(f"Unknown field(s) in `memory`: {sorted(unknown)}.", param="memory")

    def pick(name: str) -> Any:
        value = given.get(name)
        return value if value is not None else headers.get(f"x-memory-{name}")

    return MemoryControls(
        read=_flag(pick("read"), injection.read, "read"),
        write=_flag(pick("write"), writer.write, "write"),
        limit=_number(pick("limit"), injection.limit, "limit", int, 1, 100),
        threshold=_number(pick("threshold"), injection.threshold, "threshold", float, 0.0, 1.0),
    )


def _clean_id(value: Any, name: str) -> str | None:
    """memory_core's rule for subject ids (so what is accepted here is stored later),
    except that an empty id means none, as OpenAI's ``user: ""`` does."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return clean_id(name, value)
    except MissingScopeError as exc:
        raise InvalidUserId(f"`{name}`: {exc.message}", param=name) from None


def _flag(value: Any, default: bool, name: str) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InvalidRequest(f"memory `{name}` must be true or false, not {value!r}.", param=f"memory.{name}")


def _number(value: Any, default: Any, name: str, kind: type, low: float, high: float) -> Any:
    if value is None:
        return default
    try:
        if isinstance(value, bool):
            raise ValueError
        number = kind(value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"memory `{name}` must be a number, not {value!r}.", param=f"memory.{name}") from None
    if not low <= number <= high:
        raise InvalidRequest(f"memory `{name}` must be between {low:g} and {high:g}.", param=f"memory.{name}")
    return number
