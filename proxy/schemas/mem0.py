"""The bodies of Mem0's platform API, as the released ``mem0ai`` clients send and read them.

Requests are lenient on purpose: the clients add fields of their own (``org_id``,
``project_id``, ``output_format``, ``version``, ``async_mode`` ...), which are ignored.
Field types are still checked, so a wrong type is a 400 with a ``detail``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from proxy.schemas.rules import MEM0_SUBJECT_ID, MEMORY_ID, METADATA_KEY, NOT_BLANK, Matches, any_of_required

MAX_TOP_K = 100

# A user, agent or run id: what memory_core.scope.clean_id accepts, less Mem0's "*" wildcard.
Mem0SubjectId = Annotated[str, Matches(
    MEM0_SUBJECT_ID, "must be one id: 1-128 characters without control characters, not '*'")]
# Text to remember or to search for; its length limit is the server's max_content_chars
# (10,000 by default), checked by memory_core.
Mem0Text = Annotated[str, Field(min_length=1), Matches(NOT_BLANK, "must not be only whitespace")]
_METADATA_KEYS = {"propertyNames": {"pattern": METADATA_KEY}}
_TEXT_LIMIT = "At most the server's max_content_chars (10,000 by default)."
# What add() takes as messages, checked by memory_core (whose messages say best what is wrong).
_MESSAGES = {"anyOf": [{"type": "string", "minLength": 1, "pattern": NOT_BLANK},
                       {"type": "object"}, {"type": "array", "minItems": 1}]}


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Subject(_Request):
    """A call about one subject: user_id, agent_id or run_id, at the top level or inside
    ``filters`` (at least one is required; ``filters`` must then name it)."""

    model_config = ConfigDict(json_schema_extra=any_of_required("user_id", "agent_id", "run_id", "filters",
                                                                types={"filters": "object"}))

    user_id: Mem0SubjectId | None = None
    agent_id: Mem0SubjectId | None = None
    run_id: Mem0SubjectId | None = None
    app_id: str | None = Field(None, description="Accepted and ignored: memproxy has no apps.")
    filters: dict[str, Any] | None = Field(
        None, description="Entity ids ({'user_id': 'alice'}, or {'AND': [{'user_id': 'alice'}, ...]}) "
                          "and metadata conditions.")


class Mem0Add(_Subject):
    messages: Annotated[str | dict[str, Any] | list[Any], WithJsonSchema(_MESSAGES)] = Field(
        ..., description="A text, one message ({role, content}) or a list of them. " + _TEXT_LIMIT)
    metadata: dict[str, Any] | None = Field(None, json_schema_extra=_METADATA_KEYS)
    infer: bool = True


class Mem0Search(_Subject):
    query: Mem0Text = Field(..., description=_TEXT_LIMIT)
    top_k: int | None = Field(None, ge=1, description="Results wanted (2.x); at most 100 are returned.")
    limit: int | None = Field(None, ge=1, description="Results wanted (0.1.x, 1.x); at most 100 are returned.")
    threshold: float | None = Field(None, ge=0.0, le=1.0)
    output_format: str | None = Field(None, description="0.1.x: 'v1.1' answers {results}, else a bare list.")


class Mem0List(_Subject):
    pass


class Mem0Update(_Request):
    text: Mem0Text | None = Field(None, description="The new text (omitted: kept). " + _TEXT_LIMIT)
    metadata: dict[str, Any] | None = Field(None, json_schema_extra=_METADATA_KEYS)


class Mem0BatchItem(_Request):
    memory_id: str = Field(..., json_schema_extra={"pattern": MEMORY_ID},
                           description="A memory's id, mem_ + 32 hex digits (checked by memory_core).")
    text: Mem0Text | None = Field(None, description=_TEXT_LIMIT)
    metadata: dict[str, Any] | None = Field(None, json_schema_extra=_METADATA_KEYS)


class Mem0Batch(_Request):
    memories: list[Mem0BatchItem] = Field(..., min_length=1, max_length=1000)


# -- responses ----------------------------------------------------------------------


class Mem0Memory(BaseModel):
    id: str
    memory: str
    hash: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    categories: list[str] = Field(default_factory=list)
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    role: str | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: str | None = None
    updated_at: str | None = None
    score: float | None = None


class Mem0Event(BaseModel):
    id: str
    memory: str | None
    event: Literal["ADD", "UPDATE", "DELETE", "NONE"]
    data: dict[str, Any] = Field(default_factory=dict, description="{'memory': ...}, as Mem0's v1.1 format has it.")


class Mem0AddResult(BaseModel):
    results: list[Mem0Event]
    relations: list[Any] = Field(default_factory=list)


class Mem0Results(BaseModel):
    results: list[Mem0Memory]


class Mem0Page(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[Mem0Memory]


class Mem0HistoryRow(BaseModel):
    id: str
    memory_id: str
    old_memory: str | None
    new_memory: str | None
    event: Literal["ADD", "UPDATE", "DELETE"]
    actor_id: str | None = None
    role: str | None = None
    created_at: str
    updated_at: str | None = None
    is_deleted: bool = False


class Mem0Entity(BaseModel):
    id: str
    name: str
    type: Literal["user", "agent", "run"]
    total_memories: int
    created_at: str | None = None
    updated_at: str | None = None


class Mem0Entities(BaseModel):
    count: int
    next: str | None = None
    previous: str | None = None
    results: list[Mem0Entity]


class Mem0Ping(BaseModel):
    status: str = "ok"
    org_id: str
    project_id: str
    user_email: str | None = None


class Mem0Message(BaseModel):
    message: str


class Mem0Error(BaseModel):
    detail: str
    code: str = Field(..., examples=["MEMORY_NOT_FOUND"])
