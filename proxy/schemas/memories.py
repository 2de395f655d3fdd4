"""Request and response bodies of ``/v1/memories``: camelCase on the wire.

The handlers validate with these models and answer with them, and ``/openapi.json``
is generated from them, so the reference cannot drift from the behaviour.
Requests are strict (no ``"5"`` for 5) and reject unknown fields.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from proxy.schemas.rules import METADATA_KEY, NOT_BLANK, SUBJECT_ID, TAG, Matches, any_of_required

MAX_CONTENT_CHARS = 10_000
MAX_ID_CHARS = 128
MAX_LIMIT = 100
MAX_TAGS = 32

# A user, agent or run id: what memory_core.scope.clean_id accepts.
SubjectId = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS), Matches(
    SUBJECT_ID, "must be 1-128 characters without control characters (surrounding whitespace is trimmed)")]
# A memory's text or a query: not empty, not only whitespace, at most 10,000 characters.
Text = Annotated[str, Field(min_length=1, max_length=MAX_CONTENT_CHARS),
                 Matches(NOT_BLANK, "must not be only whitespace")]
# An earlier message of a conversation (a search's context): may be empty, at most 10,000 characters.
ContextText = Annotated[str, Field(max_length=MAX_CONTENT_CHARS)]
MAX_CONTEXT = 20
# A tag: what memory_core.validation.clean_tags accepts.
Tag = Annotated[str, Matches(TAG, "must be 1-64 characters once surrounding whitespace is trimmed")]
# Metadata keys are checked by memory_core (and its 16 KB limit); described here.
_METADATA_KEYS = {"propertyNames": {"pattern": METADATA_KEY}}
_SUBJECT = "userId, agentId or runId: at least one is required."
_ANY_SUBJECT = any_of_required("userId", "agentId", "runId")


class _Request(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_alias=True, validate_by_name=False,
                              extra="forbid", strict=True)


class _Query(BaseModel):
    """Query strings: every value arrives as text, so numbers are converted."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_alias=True, validate_by_name=False,
                              extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, serialize_by_alias=True)


# -- requests -----------------------------------------------------------------------


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    role: Literal["user", "assistant", "system", "tool", "developer", "function"] = "user"
    content: str | list[dict[str, Any]] | None = Field(
        None, description="Text, or OpenAI content parts (text parts are remembered, images kept as references)."
    )


class CreateMemory(_Request):
    """Store ``content`` as one memory as it is, or extract memories from ``messages``."""

    content: Text | None = Field(None, description="The memory's text, stored verbatim (no inference).")
    messages: list[ChatMessage] | None = Field(
        None, min_length=1, max_length=200,
        description="Instead of content: a conversation to extract facts from (ADD/UPDATE/DELETE/NONE events).",
    )
    infer: bool = Field(True, description="With messages: extract facts with the memory LLM (false: store as is).")
    user_id: SubjectId = Field(..., description="Whose memory this is.")
    agent_id: SubjectId | None = None
    run_id: SubjectId | None = None
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS, description="Labels to filter by (at most 32).")
    metadata: dict[str, Any] | None = Field(None, description="Free-form JSON object (at most 16 KB).",
                                            json_schema_extra=_METADATA_KEYS)


class SearchMemories(_Request):
    model_config = ConfigDict(json_schema_extra=_ANY_SUBJECT)

    query: Text
    user_id: SubjectId | None = Field(None, description=_SUBJECT)
    agent_id: SubjectId | None = None
    run_id: SubjectId | None = None
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS, description="Only memories with ALL of these tags.")
    limit: int = Field(10, ge=1, le=MAX_LIMIT)
    threshold: float | None = Field(None, ge=0.0, le=1.0,
                                    description="Minimum score, 0-1 (default 0.5, the server's search.threshold).")
    context: list[ContextText] | None = Field(
        None, max_length=MAX_CONTEXT,
        description="When query is a chat message: the user's earlier messages of the conversation, oldest "
                    "first. The search leans on the last two when they are about the same thing.")


class ListMemories(_Query):
    model_config = ConfigDict(json_schema_extra=_ANY_SUBJECT)

    user_id: SubjectId | None = Field(None, description=_SUBJECT)
    agent_id: SubjectId | None = None
    run_id: SubjectId | None = None
    tags: str | None = Field(None, max_length=4096, description="Comma-separated; a memory must have ALL of them.")
    page: int = Field(1, ge=1, le=1_000_000)
    limit: int = Field(20, ge=1, le=MAX_LIMIT)


class DeleteMemories(_Query):
    model_config = ConfigDict(json_schema_extra=_ANY_SUBJECT)

    user_id: SubjectId | None = Field(None, description=_SUBJECT)
    agent_id: SubjectId | None = None
    run_id: SubjectId | None = None


class UpdateMemory(_Request):
    content: Text | None = None
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS, description="Replaces the tags.")
    metadata: dict[str, Any] | None = Field(None, description="Replaces the metadata.",
                                            json_schema_extra=_METADATA_KEYS)


# -- responses ----------------------------------------------------------------------


class MemoryOut(_Response):
    id: str = Field(..., examples=["mem_4f9c2d0b8e7a4c1f9d3e6b5a2c1d0e9f"])
    content: str
    user_id: str | None
    agent_id: str | None
    run_id: str | None = None
    tags: list[str]
    metadata: dict[str, Any]
    created_at: str
    updated_at: str | None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "MemoryOut":
        return cls(id=item["id"], content=item["memory"], user_id=item.get("user_id"),
                   agent_id=item.get("agent_id"), run_id=item.get("run_id"), tags=item.get("tags") or [],
                   metadata=item.get("metadata") or {}, created_at=item.get("created_at") or "",
                   updated_at=item.get("updated_at"))


class SearchHit(_Response):
    id: str
    content: str
    score: float = Field(..., ge=0.0, le=1.0, description="Semantic similarity, 0-1; best first.")
    user_id: str | None
    agent_id: str | None
    run_id: str | None = None
    tags: list[str]
    metadata: dict[str, Any]
    created_at: str

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "SearchHit":
        return cls(id=item["id"], content=item["memory"], score=item.get("score") or 0.0,
                   user_id=item.get("user_id"), agent_id=item.get("agent_id"), run_id=item.get("run_id"),
                   tags=item.get("tags") or [], metadata=item.get("metadata") or {},
                   created_at=item.get("created_at") or "")


class SearchResults(_Response):
    results: list[SearchHit]


class Pagination(_Response):
    page: int
    limit: int
    total: int
    total_pages: int


class MemoryPage(_Response):
    items: list[MemoryOut]
    pagination: Pagination


class MemoryEvent(_Response):
    id: str
    event: Literal["ADD", "UPDATE", "DELETE", "NONE"]
    content: str | None
    previous_content: str | None = None


class MemoryEvents(_Response):
    results: list[MemoryEvent]


class Deleted(_Response):
    success: bool = True
    id: str


class DeletedMany(_Response):
    success: bool = True
    deleted: int


class HistoryEntry(_Response):
    id: str
    memory_id: str
    event: Literal["ADD", "UPDATE", "DELETE"]
    old_content: str | None
    new_content: str | None
    created_at: str
    updated_at: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "HistoryEntry":
        return cls(id=row["id"], memory_id=row["memory_id"], event=row["event"],
                   old_content=row.get("old_memory"), new_content=row.get("new_memory"),
                   created_at=row["created_at"], updated_at=row.get("updated_at"))


class History(_Response):
    items: list[HistoryEntry]


class ErrorDetail(_Response):
    code: str = Field(..., examples=["MEMORY_NOT_FOUND"])
    message: str


class ErrorBody(_Response):
    error: ErrorDetail
