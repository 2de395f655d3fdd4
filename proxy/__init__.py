"""memproxy's server: an OpenAI-compatible chat proxy that remembers each user.

    from proxy import ProxyConfig, create_app
    app = create_app(ProxyConfig.load("config.yaml"))     # a Starlette app

or from a shell: ``memproxy serve --config config.yaml``.

litellm fetches its price list from the internet when it is imported, unless the
environment has ``LITELLM_LOCAL_MODEL_COST_MAP=True`` (offline that costs ~8 s of
retries): the ``memproxy`` command sets it for its own process; a program that embeds
the app sets it itself.
"""

from typing import Any

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
