"""The ProxyConfig every live-server test starts from: the given upstream models, no
retries, a temporary data directory and a fast background writer. Dependency-free, so
the proxy harness imports it and other test folders load it by path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from proxy import ProxyConfig


def config_for(models: list[dict[str, Any]], data_dir: Path, **sections: Any) -> ProxyConfig:
    data: dict[str, Any] = {
        "models": models,
        "router": {"num_retries": 0},
        "memory": {"data_dir": str(data_dir)},
        "writer": {"backoff": 0.05, "max_backoff": 0.2, "max_attempts": 3, "shutdown_grace": 2},
    }
    for name, value in sections.items():
        data[name] = {**data.get(name, {}), **value} if isinstance(value, dict) else value
    return ProxyConfig.parse(data)
