"""The Python examples of docs/page-client-docker.md run as written against a live
memproxy (its model named as in the examples, answered by the fake upstream)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest

from memproxy_stack import Stack, fake_upstream_server, memproxy_stack

DOC = Path(__file__).resolve().parents[2] / "docs" / "page-client-docker.md"


def client_examples() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## The Python client", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    return [b for b in blocks if "messages=[...]" not in b]  # the fragment showing the plain SDK


@pytest.fixture(scope="module")
def docs_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with fake_upstream_server() as (_, upstream_url):
        models = [{"name": "gpt-4o-mini", "model": "openai/gpt-4o-mini", "api_base": f"{upstream_url}/v1",
                   "api_key": "sk-test"}]
        with memproxy_stack(Path(tmp_path_factory.mktemp("docs")), models=models) as running:
            yield running


def test_the_documented_examples_exist() -> None:
    assert len(client_examples()) >= 2


@pytest.mark.parametrize("index", range(len(client_examples())))
def test_a_documented_example_runs(docs_stack: Stack, index: int, capsys: pytest.CaptureFixture[str]) -> None:
    code = client_examples()[index].replace("http://127.0.0.1:8888", docs_stack.url)
    exec(compile(code, f"{DOC.name} example {index + 1}", "exec"), {"__name__": "docs_example"})
