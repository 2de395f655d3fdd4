"""Python clients for a memproxy server, for people who prefer not to hand-write HTTP.

    from proxy.client import MemoryClient, MemproxyChat

    memories = MemoryClient("http://127.0.0.1:8888", api_key="mk_...")
    memories.add("Likes green tea", user_id="alice")

    chat = MemproxyChat("http://127.0.0.1:8888", api_key="mk_...")
    chat.chat.completions.create(model="gpt-4o-mini", user_id="alice",
                                 messages=[{"role": "user", "content": "What should I drink?"}])

The memory clients need only httpx; the chat client also needs ``openai``.
"""

from proxy.client.chat import AsyncMemproxyChat, MemoryInfo, MemproxyChat, WithMemory
from proxy.client.errors import (APIConnectionError, APIError, AuthenticationError, ContentTooLongError,
                                 InvalidUserIdError, MemoryNotFoundError, MemproxyError, QuotaExceededError,
                                 RateLimitError, ServerError, ValidationError)
from proxy.client.memory import AsyncMemoryClient, MemoryClient

__all__ = [
    "MemoryClient", "AsyncMemoryClient", "MemproxyChat", "AsyncMemproxyChat", "MemoryInfo", "WithMemory",
    "MemproxyError", "APIConnectionError", "APIError", "ValidationError", "ContentTooLongError",
    "InvalidUserIdError", "AuthenticationError", "MemoryNotFoundError", "RateLimitError",
    "QuotaExceededError", "ServerError",
]
