"""Typed errors of the memory engine.

Every error carries a stable ``code`` and the HTTP ``status`` a server should answer
with, so the proxy turns any of them into a response in one place.
"""

from __future__ import annotations


class MemoryCoreError(Exception):
    """Base class of every error memory_core raises on purpose."""

    code = "MEMORY_ERROR"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(MemoryCoreError, ValueError):
    """The caller passed something unusable (empty text, bad filter, bad page)."""

    code = "VALIDATION_ERROR"
    status = 400


class MissingScopeError(ValidationError):
    """A write, search, listing or bulk delete named no user_id, agent_id or run_id."""

    code = "INVALID_USER_ID"


class ContentTooLongError(ValidationError):
    code = "CONTENT_TOO_LONG"
    status = 413


class MemoryNotFoundError(MemoryCoreError, LookupError):
    code = "MEMORY_NOT_FOUND"
    status = 404


class DimensionMismatchError(MemoryCoreError):
    """The vector store on disk was built for another embedding size than the embedder's."""

    code = "DIMENSION_MISMATCH"
    status = 500


class EmbedderUnavailableError(MemoryCoreError):
    """The embedding model could not be built or loaded."""

    code = "EMBEDDER_UNAVAILABLE"
    status = 503


class SearchTimeoutError(MemoryCoreError, TimeoutError):
    """A search with a ``timeout`` could not finish in time; it stopped at the next stage."""

    code = "SEARCH_TIMEOUT"
    status = 504


class LLMError(MemoryCoreError):
    """The memory LLM failed or kept answering something that is not the JSON we asked for."""

    code = "LLM_ERROR"
    status = 502


class UnreadableDataError(MemoryCoreError):
    """Stored memories cannot be read back (written by an older version without today's
    input checks). Reading them fails; deleting their subject still works."""

    code = "UNREADABLE_DATA"
    status = 500


class StoreLockedError(MemoryCoreError):
    """Another process owns the embedded data directory."""

    code = "STORE_LOCKED"
    status = 503
