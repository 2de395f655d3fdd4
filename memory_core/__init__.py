"""memory_core: long-term memory for chat applications, embedded and offline.

    from memory_core import Memory
    m = Memory()
    m.add("你好，我叫张三", user_id="zhangsan")
    m.search("我是谁？", user_id="zhangsan")
"""

from memory_core.async_memory import AsyncMemory
from memory_core.config import MemoryConfig
from memory_core.errors import (ContentTooLongError, DimensionMismatchError,
                                EmbedderUnavailableError, LLMError, MemoryCoreError,
                                MemoryNotFoundError, MissingScopeError, StoreLockedError,
                                ValidationError)
from memory_core.memory import Memory

__all__ = [
    "AsyncMemory", "Memory", "MemoryConfig",
    "MemoryCoreError", "ValidationError", "MissingScopeError", "ContentTooLongError",
    "MemoryNotFoundError", "DimensionMismatchError", "EmbedderUnavailableError", "LLMError",
    "StoreLockedError",
]
