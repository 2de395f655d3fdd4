"""Turn what callers pass to ``add`` into a list of plain (role, text) messages.

Accepted: a string (one user message), one ``{"role", "content"}`` dict, or a list of
them. ``content`` may be a string or a list of OpenAI content parts; text parts are
joined, ``image_url`` parts are kept as references (never embedded).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from memory_core.errors import ContentTooLongError, ValidationError
from memory_core.validation import check_unicode

ROLES = {"user", "assistant", "system", "tool", "developer", "function"}


@dataclass
class Message:
    role: str
    text: str
    images: list[str] = field(default_factory=list)
    name: str | None = None


def _image_ref(url: str) -> str:
    # A data: URI can be megabytes; keep a stable reference, not the bytes.
    if url.startswith("data:"):
        head = url.split(",", 1)[0]
        return f"{head},sha256:{hashlib.sha256(url.encode()).hexdigest()}"
    return url[:2048]


def _parse_content(content: Any, where: str) -> tuple[str, list[str]]:
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise ValidationError(f"{where}.content must be a string or a list of content parts")
    texts: list[str] = []
    images: list[str] = []
    for i, part in enumerate(content):
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, dict):
            raise ValidationError(f"{where}.content[{i}] must be an object")
        kind = part.get("type")
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise ValidationError(f"{where}.content[{i}].text must be a string")
            texts.append(text)
        elif kind == "image_url":
            ref = part.get("image_url")
            url = ref.get("url") if isinstance(ref, dict) else ref
            if not isinstance(url, str) or not url:
                raise ValidationError(f"{where}.content[{i}].image_url.url must be a string")
            images.append(_image_ref(url))
        else:
            # input_audio, file, ...: nothing to remember as text.
            continue
    return "\n".join(t for t in texts if t), images


def normalize_messages(messages: Any, max_chars: int) -> list[Message]:
    """Validate and flatten ``messages``; raise ValidationError with the offending path."""
    if isinstance(messages, str):
        raw: list[Any] = [{"role": "user", "content": messages}]
    elif isinstance(messages, dict):
        raw = [messages]
    elif isinstance(messages, (list, tuple)):
        raw = list(messages)
    else:
        raise ValidationError("messages must be a string, a message dict, or a list of them")
    if not raw:
        raise ValidationError("messages must not be empty")

    out: list[Message] = []
    for i, m in enumerate(raw):
        where = f"messages[{i}]"
        if isinstance(m, str):
            m = {"role": "user", "content": m}
        if not isinstance(m, dict):
            raise ValidationError(f"{where} must be an object with role and content")
        role = m.get("role", "user")
        if role not in ROLES:
            raise ValidationError(f"{where}.role must be one of {sorted(ROLES)}, got {role!r}")
        text, images = _parse_content(m.get("content"), where)
        text = check_unicode(text, f"{where}.content").strip()
        if len(text) > max_chars:
            raise ContentTooLongError(
                f"{where} has {len(text)} characters; the limit is {max_chars}"
            )
        name = m.get("name") if isinstance(m.get("name"), str) else None
        out.append(Message(role=role, text=text, images=images, name=name))

    if not any(m.text or m.images for m in out):
        raise ValidationError("messages contain no text to remember")
    return out
