"""Checks on caller input that every entry point shares (library and server alike):
the one boundary where text, tags, metadata and filters are validated, so nothing is
ever stored that the store cannot read back (too deep, too many keys, text that is not
valid Unicode)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from memory_core.errors import ContentTooLongError, ValidationError

_KEY = re.compile(r"[A-Za-z0-9_\-]{1,64}")
MAX_TAGS = 32
MAX_TAG_CHARS = 64
MAX_METADATA_BYTES = 16_384
MAX_DEPTH = 16  # nesting of objects and lists, in metadata and filters
MAX_NODES = 2_000  # values in one metadata object or filter, nested ones included


def check_unicode(value: str, what: str) -> str:
    """``value`` if it is valid Unicode (no lone UTF-16 surrogates, which JSON allows as
    escapes but no store or encoder can keep)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{what} is not valid Unicode (it holds a lone surrogate such as \\ud800)") from None
    return value


def check_json(value: Any, what: str) -> Any:
    """``value`` if it is plain JSON that can be stored and read back: objects with string
    keys, lists, strings of valid Unicode, finite numbers, booleans and null, nested at
    most MAX_DEPTH levels and MAX_NODES values in all. Iterative: no recursion limit."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise ValidationError(f"{what} holds more than {MAX_NODES} values")
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise ValidationError(f"{what} is nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                for key in item:
                    if not isinstance(key, str):
                        raise ValidationError(f"{what} has a key that is not a string")
                    check_unicode(key, f"a key of {what}")
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str):
            check_unicode(item, f"a string in {what}")
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValidationError(f"{what} holds {item}, which is not a JSON number")
        elif item is not None and not isinstance(item, (bool, int, float)):
            raise ValidationError(f"{what} must be plain JSON, not {type(item).__name__}")
    return value


def clean_text(value: Any, what: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a string")
    value = check_unicode(value, what).strip()
    if not value:
        raise ValidationError(f"{what} must not be empty")
    if len(value) > max_chars:
        raise ContentTooLongError(f"{what} has {len(value)} characters; the limit is {max_chars}")
    return value


def clean_context(value: Any, max_chars: int) -> list[str]:
    """A search's ``context``: the conversation's earlier messages as stripped strings,
    each cut to ``max_chars``. An earlier message only steers the search, so one it cannot
    use (empty, or not valid Unicode) is left out rather than refused; anything but a
    list of strings is refused."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValidationError("context must be a list of strings (the conversation's earlier messages)")
    out = []
    for item in value:
        if not isinstance(item, str):
            raise ValidationError("every context entry must be a string")
        item = item.strip()[:max_chars]
        try:
            check_unicode(item, "a context entry")
        except ValidationError:
            continue
        if item:
            out.append(item)
    return out


def clean_tags(tags: Any) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
        raise ValidationError("tags must be a list of strings")
    out: list[str] = []
    for t in tags:
        if not isinstance(t, str) or not t.strip():
            raise ValidationError("every tag must be a non-empty string")
        t = check_unicode(t, "a tag").strip()
        if len(t) > MAX_TAG_CHARS:
            raise ValidationError(f"tags are at most {MAX_TAG_CHARS} characters")
        if t not in out:
            out.append(t)
    if len(out) > MAX_TAGS:
        raise ValidationError(f"at most {MAX_TAGS} tags per memory")
    return out


def clean_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValidationError("metadata must be an object")
    check_json(metadata, "metadata")
    for key in metadata:
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValidationError(
                f"metadata key {str(key)[:40]!r} is invalid: use 1-64 letters, digits, _ or -"
            )
    try:
        size = len(json.dumps(metadata, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metadata must be plain JSON: {exc}") from exc
    if size > MAX_METADATA_BYTES:
        raise ValidationError(f"metadata is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}")
    return dict(metadata)


def clean_int(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{what} must be an integer")
    if not low <= value <= high:
        raise ValidationError(f"{what} must be between {low} and {high}, got {value}")
    return value


def clean_threshold(value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ValidationError("threshold must be a number between 0 and 1")
    if not 0.0 <= float(value) <= 1.0:
        raise ValidationError(f"threshold must be between 0 and 1, got {value}")
    return float(value)
