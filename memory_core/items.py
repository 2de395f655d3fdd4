"""Memory items: the payload stored with each vector, and the dict callers get back.

A memory's public id is ``mem_`` + 32 hex digits; the same UUID is the vector-store
point id, so an id maps to a point without a lookup table.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

from memory_core.errors import ValidationError

_MEM_ID = re.compile(r"^mem_([0-9a-f]{32})$")


def new_ids() -> tuple[str, str]:
    """(public id, point id) for a new memory."""
    u = uuid.uuid4()
    return f"mem_{u.hex}", str(u)


def point_id(memory_id: str) -> str:
    """The store's point id for a public id; accepts a bare UUID too."""
    if isinstance(memory_id, str):
        m = _MEM_ID.match(memory_id.strip().lower())
        if m:
            return str(uuid.UUID(m.group(1)))
        try:
            return str(uuid.UUID(memory_id.strip()))
        except ValueError:
            pass
    raise ValidationError(
        f"{str(memory_id)[:80]!r} is not a memory id: ids look like mem_ followed by 32 hex digits"
    )


def public_id(point: str) -> str:
    return "mem_" + uuid.UUID(str(point)).hex


def text_hash(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


ITEM_KEYS = ("memory", "hash", "user_id", "agent_id", "run_id", "role", "tags", "metadata",
             "created_at", "updated_at")


def to_item(point: str, payload: dict[str, Any], score: float | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": public_id(point)}
    for key in ITEM_KEYS:
        item[key] = payload.get(key)
    item["tags"] = list(item["tags"] or [])
    item["metadata"] = dict(item["metadata"] or {})
    if score is not None:
        item["score"] = round(float(score), 4)
    return item
