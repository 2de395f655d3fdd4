"""Two (or more) ``memproxy serve`` processes on one real PostgreSQL: the shared-state
mode as a team runs it behind a load balancer. Each replica has its own working folder
and data directory; everything they share is in the database."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "proxy"))

from fake_upstream import FakeUpstream  # noqa: E402
from live import LiveServer  # noqa: E402
from served import Served, memproxy, user_env  # noqa: E402


@pytest.fixture(scope="module")
def upstream_url() -> Iterator[str]:
    upstream = FakeUpstream(record=False)
    with LiveServer(upstream.app) as server:
        yield f"{server.url}/v1"


class Cluster:
    """Writes one config per replica folder (same database) and starts replicas."""

    def __init__(self, root: Path, database_url: str, upstream_url: str) -> None:
        self.root, self.database_url, self.upstream_url = root, database_url, upstream_url
        self.env = user_env(MEMPROXY_DATABASE_URL=database_url)
        self._count = 0

    def folder(self, **overrides: Any) -> Path:
        self._count += 1
        folder = self.root / f"replica-{self._count}"
        folder.mkdir()
        config = {
            "models": [{"name": "echo", "model": "openai/echo", "api_base": self.upstream_url, "api_key": "sk-test"}],
            "router": {"num_retries": 0},
            "database": {"url": "${MEMPROXY_DATABASE_URL}", "replica": f"replica-{self._count}"},
            "writer": {"lease_seconds": 3, "backoff": 0.2},
            **overrides,
        }
        (folder / "config.yaml").write_text(json.dumps(config))
        return folder

    def replica(self, *args: str, folder: Path | None = None, **overrides: Any) -> Served:
        return Served("--no-local-model", *args, cwd=folder or self.folder(**overrides), env=self.env,
                      ready="/readyz")

    def command(self, *args: str, folder: Path) -> Any:
        return memproxy(*args, cwd=folder, env=self.env)


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, upstream_url: str) -> Cluster:
    return Cluster(tmp_path, postgres_url, upstream_url)


@pytest.fixture
def wait() -> Callable[..., None]:
    import time

    def until(condition: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)

    return until
