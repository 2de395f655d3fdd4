"""memproxy's server: an OpenAI-compatible chat proxy that remembers each user.

    from proxy import ProxyConfig, create_app
    app = create_app(ProxyConfig.load("config.yaml"))     # a Starlette app

or from a shell: ``memproxy serve --config config.yaml``.
"""

import os
from typing import Any

# litellm downloads its price list at import unless told to use the copy it ships
# (~8 s of retries on a machine without internet). Set before anything imports litellm.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__all__ = ["ConfigError", "ProxyConfig", "create_app"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `memproxy check-config` and config errors don't wait for litellm's import.
    if name == "create_app":
        from proxy.app import create_app

        return create_app
    if name in ("ConfigError", "ProxyConfig"):
        from proxy import config

        return getattr(config, name)
    raise AttributeError(f"module 'proxy' has no attribute {name!r}")
