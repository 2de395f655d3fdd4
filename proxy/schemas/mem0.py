"""The bodies of Mem0's platform API, as the released ``mem0ai`` clients send and read them.

Requests are lenient on purpose: the clients add fields of their own (``org_id``,
``project_id``, ``output_format``, ``version``, ``async_mode`` ...), which are ignored.
Field types are still checked, so a wrong type is a 400 with a ``detail``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_TOP_K = 100


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Subject(_Request):
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    app_id: str | None = Field(None, description="Accepted and ignored: memproxy has no apps.")
    filters: dict[str, Any] | None = Field(
        None, description="Entity ids ({'user_id': 'alice'}, or {'AND': [{'user_id': 'alice'}, ...]}) "
                          "and metadata conditions.")


class Mem0Add(_Subject):
    messages: str | dict[str, Any] | list[Any]
    metadata: dict[str, Any] | None = None
    infer: bool = True


class Mem0Search(_Subject):
    query: str
    top_k: int | None = Field(None, ge=1, description="Results wanted (2.x); at most 100 are returned.")
    limit: int | None = Field(None, ge=1, description="Results wanted (0.1.x, 1.x); at most 100 are returned.")
    threshold: float | None = Field(None, ge=0.0, le=1.0)
    output_format: str | None = Field(None, description="0.1.x: 'v1.1' answers {results}, else a bare list.")


class Mem0List(_Subject):
    pass


class Mem0Update(_Request):
    text: str | None = None
    metadata: dict[str, Any] | None = None


class Mem0BatchItem(_Request):
    memory_id: str
    text: str | None = None
    metadata: dict[str, Any] | None = None


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
