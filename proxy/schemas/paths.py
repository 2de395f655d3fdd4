"""The path parameters of the memory routes, by name, as ``/openapi.json`` describes them.

The handlers take them as text and memory_core checks them (a malformed memory id is
a 400 ``VALIDATION_ERROR``, an unknown one a 404); these types say which values can
ever succeed, so a generated client or a fuzzer sends well-formed ones.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from proxy.schemas.rules import MEMORY_ID, SUBJECT_ID_IN_PATH

MemoryId = Annotated[str, Field(pattern=MEMORY_ID, examples=["mem_4f9c2d0b8e7a4c1f9d3e6b5a2c1d0e9f"])]
EntityType = Literal["user", "agent", "run"]
EntityId = Annotated[str, Field(min_length=1, pattern=SUBJECT_ID_IN_PATH)]

# name in the route's path -> the type of its value
PATH_PARAMETERS: dict[str, Any] = {
    "id": MemoryId,               # /v1/memories/{id}
    "memory_id": MemoryId,        # Mem0's /v1/memories/{memory_id}/
    "entity_type": EntityType,    # Mem0's /v2/entities/{entity_type}/{entity_id}/
    "entity_id": EntityId,
}
