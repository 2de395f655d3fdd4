"""The two LLM steps of ``add(infer=True)``, with repair and retry of bad JSON.

Nothing here writes: it returns decisions, and :class:`memory_core.Memory` applies
them only when every step succeeded, so a failing LLM never leaves half an update.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, TypeVar

from memory_core.errors import LLMError
from memory_core.extraction import prompts
from memory_core.extraction.parsing import Action, OutputError, parse_actions, parse_facts
from memory_core.llm import LLM
from memory_core.messages import Message

log = logging.getLogger("memory_core.inference")
T = TypeVar("T")


@dataclass
class Decision:
    event: str  # ADD | UPDATE | DELETE | NONE
    text: str
    point_id: str | None = None  # the existing memory for UPDATE / DELETE / NONE


def conversation_text(messages: list[Message]) -> str:
    lines = []
    for m in messages:
        if m.role in ("system", "developer") or not m.text:
            continue
        lines.append(f"{m.role}: {m.text}")
    return "\n".join(lines)


class Inference:
    def __init__(self, llm: LLM, max_attempts: int = 2) -> None:
        self._llm = llm
        self._max_attempts = max_attempts

    def _ask(self, messages: list[dict], parse: Callable[[str], T], step: str,
             schema: dict) -> T:
        problem = ""
        for attempt in range(1, self._max_attempts + 1):
            try:
                answer = self._llm.complete(messages, schema)
            except Exception as exc:  # provider errors of every kind end here
                raise LLMError(f"memory LLM call failed during {step}: {exc}") from exc
            try:
                return parse(answer)
            except OutputError as exc:
                problem = str(exc)
                log.warning("memory LLM gave unusable %s output (attempt %d): %s",
                            step, attempt, problem)
                messages = messages + [
                    {"role": "assistant", "content": answer[:4000]},
                    {"role": "user", "content": prompts.REPAIR.format(problem=problem)},
                ]
        raise LLMError(
            f"memory LLM returned unusable JSON for {step} after {self._max_attempts} "
            f"attempts ({problem}); nothing was stored"
        )

    def extract_facts(self, messages: list[Message], today: str) -> list[str]:
        text = conversation_text(messages)
        if not text:
            return []
        return self._ask(prompts.fact_messages(text, today), parse_facts, "fact extraction",
                         prompts.FACTS_SCHEMA)

    def decide(self, facts: list[str], existing: list[tuple[str, str]]) -> list[Decision]:
        """``existing`` is (point id, text). The LLM sees short integer ids only, so it
        cannot invent or mangle real ids; unknown ids in its answer are handled here."""
        if not facts:
            return []
        shown = [(str(i), text) for i, (_, text) in enumerate(existing)]
        by_ref = {str(i): pid for i, (pid, _) in enumerate(existing)}
        actions: list[Action] = self._ask(
            prompts.update_messages(shown, facts), parse_actions, "memory update",
            prompts.DECISIONS_SCHEMA,
        )
        decisions: list[Decision] = []
        seen: set[str] = set()
        for a in actions:
            pid = by_ref.get(a.ref)
            if a.event == "ADD" or (a.event == "UPDATE" and pid is None):
                if a.text:
                    decisions.append(Decision("ADD", a.text))
            elif pid is None or pid in seen:
                continue  # DELETE/NONE of an id we never showed, or a repeated id
            elif a.event == "UPDATE" and a.text:
                seen.add(pid)
                decisions.append(Decision("UPDATE", a.text, pid))
            elif a.event == "DELETE":
                seen.add(pid)
                decisions.append(Decision("DELETE", "", pid))
            elif a.event == "NONE":
                seen.add(pid)
                decisions.append(Decision("NONE", a.text, pid))
        return decisions
