"""The README's examples, run as written against `memproxy serve` started as the README
says (only the address differs). The upstream model is the fake OpenAI server, named
as in the README (gpt-4o-mini)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

TESTS = Path(__file__).resolve().parent.parent
README = TESTS.parent / "README.md"


def _load(name: str, path: Path) -> Any:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


served = _load("memproxy_test_served", TESTS / "proxy" / "served.py")
live = _load("memproxy_test_live", TESTS / "proxy" / "live.py")
fake = _load("memproxy_test_fake_upstream", TESTS / "proxy" / "fake_upstream.py")


def readme_block(section: str, language: str = "python") -> str:
    """The first ``language`` block under the README heading ``section``."""
    text = README.read_text(encoding="utf-8")
    body = re.split(rf"^#+ {re.escape(section)}\n", text, maxsplit=1, flags=re.M)[1]
    return re.findall(rf"```{language}\n(.*?)```", body, re.S)[0]


class Running:
    def __init__(self, server: Any, upstream: Any, folder: Path) -> None:
        self.server, self.upstream, self.folder = server, upstream, folder
        self.url = server.url

    def example(self, section: str) -> str:
        """The README's example with this server's address instead of the default one."""
        return readme_block(section).replace("http://127.0.0.1:8888", self.url).replace(
            "http://localhost:8888", self.url)


@pytest.fixture(scope="package")
def memproxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("readme")
    upstream = fake.FakeUpstream(chunks=4)
    with live.LiveServer(upstream.app) as upstream_server:
        config = {
            "models": [{"name": "gpt-4o-mini", "model": "openai/gpt-4o-mini", "api_key": "sk-test",
                        "api_base": f"{upstream_server.url}/v1"}],
            "writer": {"backoff": 0.05, "max_backoff": 0.2},
        }
        (folder / "config.yaml").write_text(json.dumps(config))  # JSON is YAML
        with served.Served("--no-local-model", cwd=folder, ready="/readyz") as server:
            yield Running(server, upstream, folder)
