"""Whether litellm has what it needs to call a model: decided once at start-up from the
configuration and the environment, so a model without a key fails at once, saying what
to set, instead of after seconds of retries against the provider."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# litellm providers that run on the user's own machine and need no key.
_KEYLESS_PROVIDERS = frozenset({"ollama", "ollama_chat", "hosted_vllm", "lm_studio", "llamafile", "xinference"})


@dataclass(frozen=True)
class ModelStatus:
    """``ready``: a call can be made; otherwise ``missing`` names the environment variables
    litellm looked for (``["OPENAI_API_KEY"]``)."""

    ready: bool = True
    missing: list[str] = field(default_factory=list)

    def what_to_set(self) -> str:
        return " or ".join(self.missing) or "an API key"


def model_status(model: Any) -> ModelStatus:
    """For a ``ModelConfig`` (or anything with ``model``, ``api_key``, ``api_base``)."""
    key = model.api_key
    if key is not None and (key if isinstance(key, str) else key.get_secret_value()):
        return ModelStatus()
    provider = model.model.split("/", 1)[0] if "/" in model.model else ""
    if provider in _KEYLESS_PROVIDERS or _is_local(model.api_base):
        return ModelStatus()  # a server on the user's own machine, which may need no key
    import litellm

    try:
        check = litellm.validate_environment(model.model)
    except Exception:  # an unknown provider: let the first request tell
        return ModelStatus()
    if check.get("keys_in_environment", True):
        return ModelStatus()
    return ModelStatus(ready=False, missing=list(check.get("missing_keys") or []))


def _is_local(url: str | None) -> bool:
    if not url:
        return False
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
