"""The rules for text the server takes, written once as JSON Schema patterns that both
validate requests (:class:`Matches`) and appear in ``/openapi.json``, so a generated
client or a fuzzer knows exactly which strings the server refuses.

The patterns are written for two regex engines at once, Python's ``re`` (validation)
and ECMA-262 (what JSON Schema's ``pattern`` means): character classes spelled out with
``\\x`` and ``\\u`` escapes, never ``\\s`` or ``\\d`` (which mean different characters in
each; ``[\\s\\S]``, any character, is the one exception), and, in the patterns that
validate, a ``$`` only after a class that takes a newline anyway (Python's ``$`` also
matches before a final newline). :data:`MEMORY_ID`, :data:`METADATA_KEY` and
:data:`SUBJECT_ID_IN_PATH` only describe (memory_core checks ids and metadata keys
itself, Starlette's router the path), so they mean what ECMA-262 says.

    content: Annotated[str, Matches(NOT_BLANK, "must not be empty or only whitespace")]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

# Exactly the characters Python's str.strip() removes (str.isspace()).
_WS = "\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
# The control characters memory_core refuses inside a subject id.
_CTRL = "\\x00-\\x1f\\x7f"

# Has at least one character that is not whitespace.
NOT_BLANK = f"[^{_WS}]"

# A memory's id as the server hands it out.
MEMORY_ID = "^mem_[0-9a-f]{32}$"

# Metadata keys (memory_core.validation): letters, digits, _ and -.
METADATA_KEY = "^[A-Za-z0-9_-]{1,64}$"


def trimmed(max_chars: int, *, inner: str = f"[^{_CTRL}]", not_alone: str = "", newline: bool = True) -> str:
    """Text that, stripped of surrounding whitespace (as ``str.strip()`` does), is 1 to
    ``max_chars`` characters matching ``inner`` (a class, ``[^...]`` or ``[\\s\\S]``);
    ``not_alone`` lists characters refused as the whole text (Mem0's ``*`` wildcard);
    ``newline=False`` refuses a line feed in the surrounding whitespace too."""
    refused = inner[2:-1] if inner.startswith("[^") else ""
    space = _WS if newline else _WS.replace("\\t-\\r", "\\t\\x0b-\\r")
    edge = f"[^{_WS}{refused}]"
    single = f"[^{_WS}{refused}{re.escape(not_alone)}]" if not_alone else edge
    return f"^[{space}]*(?:{single}|{edge}{inner}{{0,{max_chars - 2}}}{edge})[{space}]*$"


# A user, agent or run id (memory_core.scope.clean_id): stripped, 1-128 characters
# without control characters.
SUBJECT_ID = trimmed(128)
# The same, as Mem0's routes take it, where "*" (a wildcard) is refused.
MEM0_SUBJECT_ID = trimmed(128, not_alone="*")
# The same, as the last segment of a path (Starlette's {name:path} takes no line feed).
SUBJECT_ID_IN_PATH = trimmed(128, newline=False)
# A tag (memory_core.validation.clean_tags): stripped, 1-64 characters.
TAG = trimmed(64, inner="[\\s\\S]")


@dataclass(frozen=True)
class Matches:
    """A string constraint: the value must contain a match of ``pattern`` (JSON Schema's
    ``pattern``, which this also writes into the schema), else it is refused with
    ``message``."""

    pattern: str
    message: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        regex = re.compile(self.pattern)
        message = self.message

        def check(value: str) -> str:
            if not regex.search(value):
                raise PydanticCustomError("string_rule", message)
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        out["pattern"] = self.pattern
        return out


def any_of_required(*names: str, types: dict[str, str] | None = None) -> dict[str, Any]:
    """A model-level JSON Schema: at least one of ``names`` is present, and not null (a
    string, unless ``types`` names another JSON type for it)."""
    types = types or {}
    return {"anyOf": [{"required": [name], "properties": {name: {"type": types.get(name, "string")}}}
                      for name in names]}
