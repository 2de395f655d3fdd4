"""Who a memory belongs to: a tenant plus at least one of user_id / agent_id / run_id.

Every write, search, listing and bulk delete goes through :func:`make_scope`, so a
call without a subject is an error here, never a global operation further down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memory_core.errors import MissingScopeError, ValidationError

# Printable, no control characters, bounded: ids end up in filters, logs and headers.
_ID = re.compile(r"^[^\x00-\x1f\x7f]{1,128}$")


@dataclass(frozen=True)
class Scope:
    tenant: str
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None

    @property
    def key(self) -> tuple[str, str | None, str | None, str | None]:
        return (self.tenant, self.user_id, self.agent_id, self.run_id)


def clean_id(name: str, value: object) -> str | None:
    """A subject id (user_id, agent_id, run_id) as every entry point accepts it: the one
    rule for the library, the memory API, the Mem0 routes and the chat route."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise MissingScopeError(f"{name} must be a string, got {type(value).__name__}")
    value = value.strip()
    if not value:
        raise MissingScopeError(f"{name} must not be empty")
    if not _ID.match(value):
        raise MissingScopeError(
            f"{name} must be 1-128 printable characters without control characters"
        )
    return value


def make_scope(
    tenant: str,
    user_id: object = None,
    agent_id: object = None,
    run_id: object = None,
    *,
    required: bool = True,
) -> Scope:
    """Validate the subject ids of a call.

    >>> make_scope("default", user_id="zhangsan")
    Scope(tenant='default', user_id='zhangsan', agent_id=None, run_id=None)
    """
    if not isinstance(tenant, str) or not tenant:
        raise ValidationError("tenant must be a non-empty string")
    scope = Scope(
        tenant=tenant,
        user_id=clean_id("user_id", user_id),
        agent_id=clean_id("agent_id", agent_id),
        run_id=clean_id("run_id", run_id),
    )
    if required and not (scope.user_id or scope.agent_id or scope.run_id):
        raise MissingScopeError(
            "one of user_id, agent_id or run_id is required: memories are always scoped "
            "to a subject (e.g. add(..., user_id='alice'))"
        )
    return scope
