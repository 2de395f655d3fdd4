"""Prompts for the two LLM steps of ``add(infer=True)``: extract facts, then decide
how each fact changes the memories already stored."""

from __future__ import annotations

import json

FACT_EXTRACTION = """You extract durable personal facts from a conversation so an assistant can remember them later.

Today's date is {today}.

Rules:
- Extract facts about the user (and facts the user states about people, places, plans and preferences in their life): names, preferences, dislikes, dietary restrictions, health, relationships, work, plans with dates, important events.
- Write every fact in the SAME LANGUAGE the user wrote in. Chinese stays Chinese, English stays English. Never translate. Copy names exactly as written (e.g. 张三 stays 张三).
- One short, self-contained fact per item, written from the user's point of view without "the user" where the language allows (e.g. "名字是张三", "不能吃辣", "Is vegetarian").
- Resolve relative dates ("tomorrow", "下周一") to absolute dates using today's date.
- Ignore greetings, small talk, questions to the assistant, and anything the assistant said that the user did not confirm.
- If there is nothing worth remembering, return an empty list.

Answer with JSON only, exactly this shape: {{"facts": ["fact 1", "fact 2"]}}
"""

UPDATE_DECISION = """You maintain a memory store of facts about one person. Compare the new facts with the existing memories and decide, for each, what to do.

Existing memories (id: text):
{existing}

New facts:
{facts}

For each existing memory and each new fact choose one event:
- "ADD": a new fact that no existing memory covers. Give it a new id (the next unused integer).
- "UPDATE": a new fact refines or corrects an existing memory about the same thing; keep the existing id and give the merged text. Prefer the more specific, more recent information.
- "DELETE": a new fact contradicts an existing memory so that it is no longer true; keep its id.
- "NONE": nothing changes (the fact is already known, or the memory is unaffected).

Keep the language of the facts: do not translate; copy names exactly.
Only use ids from the list above for UPDATE, DELETE and NONE.

Answer with JSON only, exactly this shape:
{{"memory": [{{"id": "0", "text": "...", "event": "ADD|UPDATE|DELETE|NONE", "old_memory": "only for UPDATE"}}]}}
"""

REPAIR = (
    "Your previous answer was not valid JSON of the requested shape ({problem}). "
    "Answer again with the JSON object only, no prose and no code fences."
)


def fact_messages(conversation: str, today: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": FACT_EXTRACTION.format(today=today)},
        {"role": "user", "content": f"Conversation:\n{conversation}"},
    ]


def update_messages(existing: list[tuple[str, str]], facts: list[str]) -> list[dict[str, str]]:
    existing_text = "\n".join(f"{i}: {text}" for i, text in existing) or "(none)"
    facts_text = json.dumps(facts, ensure_ascii=False)
    return [
        {"role": "system", "content": "You are a precise memory manager. Answer with JSON only."},
        {"role": "user", "content": UPDATE_DECISION.format(existing=existing_text, facts=facts_text)},
    ]


# JSON schemas for providers that enforce them (structured_output: json_schema). The
# caps keep small local models from rambling until max_tokens.
FACTS_SCHEMA = {
    "name": "facts",
    "schema": {
        "type": "object",
        "properties": {"facts": {"type": "array", "maxItems": 8,
                                 "items": {"type": "string", "maxLength": 200}}},
        "required": ["facts"],
        "additionalProperties": False,
    },
}

DECISIONS_SCHEMA = {
    "name": "memory_decisions",
    "schema": {
        "type": "object",
        "properties": {"memory": {"type": "array", "maxItems": 16, "items": {
            "type": "object",
            "properties": {
                "id": {"type": "string", "maxLength": 8},
                "text": {"type": "string", "maxLength": 300},
                "event": {"type": "string", "enum": ["ADD", "UPDATE", "DELETE", "NONE"]},
            },
            "required": ["id", "text", "event"],
            "additionalProperties": False,
        }}},
        "required": ["memory"],
        "additionalProperties": False,
    },
}
