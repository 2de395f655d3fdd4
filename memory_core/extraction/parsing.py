"""Read JSON out of what LLMs actually answer: code fences, prose around the object,
trailing commas, single-key variations. Anything still unusable raises
:class:`OutputError` so the caller can retry or give up without writing."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

EVENTS = {"ADD", "UPDATE", "DELETE", "NONE"}


class OutputError(ValueError):
    """The LLM's answer is not the JSON shape asked for."""


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def _candidates(text: str) -> list[str]:
    text = text.strip()
    out = [m.group(1).strip() for m in _FENCE.finditer(text)]
    # The outermost {...} or [...] span, for answers with prose around the JSON.
    for open_, close in (("{", "}"), ("[", "]")):
        start, end = text.find(open_), text.rfind(close)
        if start != -1 and end > start:
            out.append(text[start : end + 1])
    out.append(text)
    return out


def parse_json(text: str) -> Any:
    if not isinstance(text, str) or not text.strip():
        raise OutputError("empty answer")
    for cand in _candidates(text):
        for attempt in (cand, _TRAILING_COMMA.sub(r"\1", cand)):
            try:
                return json.loads(attempt)
            except ValueError:
                continue
    raise OutputError("no JSON object found")


def parse_facts(text: str) -> list[str]:
    data = parse_json(text)
    if isinstance(data, dict):
        for key in ("facts", "fact", "memories", "items"):
            if key in data:
                data = data[key]
                break
        else:
            raise OutputError('expected a "facts" key')
    if not isinstance(data, list):
        raise OutputError('"facts" must be a list')
    facts: list[str] = []
    for f in data:
        if isinstance(f, dict):
            f = f.get("fact") or f.get("text") or f.get("memory")
        if not isinstance(f, str):
            raise OutputError("every fact must be a string")
        f = f.strip()
        if f and f not in facts:
            facts.append(f)
    return facts


@dataclass
class Action:
    ref: str  # the short id shown to the LLM
    event: str
    text: str
    old_memory: str | None = None


def parse_actions(text: str) -> list[Action]:
    data = parse_json(text)
    if isinstance(data, dict):
        for key in ("memory", "memories", "actions", "results"):
            if key in data:
                data = data[key]
                break
        else:
            raise OutputError('expected a "memory" key')
    if not isinstance(data, list):
        raise OutputError('"memory" must be a list')
    actions = []
    for a in data:
        if not isinstance(a, dict):
            raise OutputError("every action must be an object")
        event = str(a.get("event", "")).strip().upper()
        if event not in EVENTS:
            raise OutputError(f"unknown event {a.get('event')!r}")
        text_ = a.get("text", a.get("memory", ""))
        if not isinstance(text_, str):
            raise OutputError("text must be a string")
        old = a.get("old_memory")
        actions.append(Action(ref=str(a.get("id", "")).strip(), event=event, text=text_.strip(),
                              old_memory=old if isinstance(old, str) else None))
    return actions
