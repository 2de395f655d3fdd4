"""Recall: search the subject's memories with the last user message (leaning on the user's
messages before it when they are about the same thing, see memory_core/search_query.py)
and put the results into the conversation as one system message, best first, within a
token budget.

The message goes after the caller's own leading system (or developer) messages and never
replaces them::

    [system: "You are a chef."]                    [system: "You are a chef."]
    [user: "给我推荐一些四川美食"]         ->        [system: "Things you remember ...\n- 我叫张三\n- 我不能吃辣"]
                                                    [user: "给我推荐一些四川美食"]
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

from proxy.config import InjectionConfig
from proxy.metrics import NO_METRICS, Recorder
from proxy.subject import MemoryControls, Subject

log = logging.getLogger("proxy.memory")


class MemorySearch(Protocol):
    async def search(self, query: str, **kwargs: Any) -> dict[str, Any]: ...


@dataclass(slots=True)
class Recall:
    """What memory did for one request; reported in the response headers."""

    status: str  # "off" | "no-subject" | "no-query" | "injected" | "none" | "skipped"
    ids: list[str] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        headers = {"X-Memory-Status": self.status, "X-Memory-Injected": str(len(self.ids))}
        if self.ids:
            headers["X-Memory-Ids"] = ",".join(self.ids)
        return headers


def _token_counter() -> Callable[[str], int]:
    try:  # litellm ships cl100k_base, so this works offline
        from litellm.litellm_core_utils.default_encoding import encoding
    except Exception:  # pragma: no cover - depends on litellm internals
        return lambda text: len(text) // 2 + 1  # conservative for CJK-heavy text
    return lambda text: len(encoding.encode(text, disallowed_special=()))


class Injector:
    """``metrics`` gets each search's duration and outcome and each chat's recall status
    and injected count (the app sets it; :data:`~proxy.metrics.NO_METRICS` records nothing)."""

    def __init__(self, config: InjectionConfig, count_tokens: Callable[[str], int] | None = None,
                 metrics: Recorder = NO_METRICS) -> None:
        self.config = config
        self.count_tokens = count_tokens or _token_counter()
        self.metrics = metrics

    async def recall(
        self,
        memory: MemorySearch | None,
        subject: Subject | None,
        controls: MemoryControls,
        messages: list[dict[str, Any]],
    ) -> tuple[list[dict[str, Any]], Recall]:
        """Return the messages to send upstream (a new list when memories were added)."""
        messages, recall = await self._recall(memory, subject, controls, messages)
        self.metrics.recall(recall.status, len(recall.ids) if recall.status in ("injected", "none") else None)
        return messages, recall

    async def _recall(
        self,
        memory: MemorySearch | None,
        subject: Subject | None,
        controls: MemoryControls,
        messages: list[dict[str, Any]],
    ) -> tuple[list[dict[str, Any]], Recall]:
        if not controls.read:
            return messages, Recall("off")
        if subject is None:
            return messages, Recall("no-subject")
        query, earlier = last_user_text(messages), earlier_user_texts(messages)
        if not query:
            return messages, Recall("no-query")
        if memory is None:
            return messages, Recall("skipped")  # still loading, or failed to load
        started = time.perf_counter()
        try:
            # The search stops itself at its timeout; wait_for is the backstop for one that cannot.
            found = await asyncio.wait_for(
                memory.search(query, limit=controls.limit, threshold=controls.threshold,
                              timeout=self.config.timeout, context=earlier, **subject.scope()),
                self.config.timeout + 1.0,
            )
        except Exception as exc:  # the chat is answered anyway; memory is an extra
            # memory_core's SearchTimeoutError is a TimeoutError; so is wait_for's (3.11+).
            timed_out = isinstance(exc, (TimeoutError, asyncio.TimeoutError))
            self.metrics.search(time.perf_counter() - started, "timeout" if timed_out else "error")
            log.warning("memory search skipped for %s: %s: %s", subject.user_id, type(exc).__name__, exc)
            return messages, Recall("skipped")
        self.metrics.search(time.perf_counter() - started, "ok")
        text, ids = self.render(found.get("results") or [])
        if not ids:
            return messages, Recall("none")
        return insert_system(messages, {"role": "system", "content": text}), Recall("injected", ids)

    def render(self, results: Sequence[dict[str, Any]]) -> tuple[str, list[str]]:
        """The system message text and the ids it carries, best first, within the budget."""
        lines = [self.config.preamble]
        used = self.count_tokens(self.config.preamble)
        ids: list[str] = []
        for item in results:
            fact = " ".join(str(item.get("memory") or "").split())
            if not fact:
                continue
            line = f"- {fact}"
            cost = self.count_tokens(line) + 1
            if used + cost > self.config.max_tokens:
                break  # results are best first: stop at the first that does not fit
            lines.append(line)
            used += cost
            ids.append(str(item.get("id")))
        return "\n".join(lines), ids


def last_user_text(messages: Sequence[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content")).strip()
    return ""


def earlier_user_texts(messages: Sequence[dict[str, Any]], count: int = 2) -> list[str]:
    """The texts of the last ``count`` non-empty user messages before the last user
    message, oldest first: the conversation a search leans on."""
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    texts = [content_text(m.get("content")).strip() for m in users[:-1]]
    return [t for t in texts if t][-count:]


def content_text(content: Any) -> str:
    """The text of a message's content, whether a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text") or "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def insert_system(messages: list[dict[str, Any]], system: dict[str, Any]) -> list[dict[str, Any]]:
    """A copy of ``messages`` with ``system`` after the leading system/developer messages."""
    at = 0
    while at < len(messages) and isinstance(messages[at], dict) and messages[at].get("role") in ("system", "developer"):
        at += 1
    return [*messages[:at], system, *messages[at:]]
