"""Each Python example of the README runs as written and does what the README says."""

from __future__ import annotations

import ast
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import Running, readme_block

ROOT = Path(__file__).resolve().parents[2]
MEM0_2X = ROOT / ".venv-mem0-2.2.1" / "bin" / "python"


def wait_for_memories(url: str, user: str, count: int = 1, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        items = httpx.get(f"{url}/v1/memories", params={"userId": user}).json()["items"]
        if len(items) >= count or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def run_with_results(code: str) -> dict:
    """exec ``code``; a line ``expr  # 'literal'`` must evaluate to that literal."""
    scope: dict = {"__name__": "readme_example"}
    for node in ast.parse(code).body:
        segment = ast.get_source_segment(code, node) or ""
        exec(compile(ast.Module([node], []), "README.md", "exec"), scope)
        line = code.splitlines()[node.end_lineno - 1]
        if isinstance(node, ast.Expr) and "#" in line:
            promised = line.split("#", 1)[1].strip()
            if promised.startswith(("'", '"')):
                assert eval(segment, scope) == ast.literal_eval(promised), segment
    return scope


@pytest.mark.smoke
def test_the_openai_sdk_example_streams_an_answer_that_knows_the_earlier_facts(memproxy: Running, capsys) -> None:
    code = memproxy.example("Use it from the OpenAI SDK")
    later = code.index("\n# Later, a new conversation")  # the README's pause between conversations
    memproxy.upstream.requests.clear()
    scope = {"__name__": "readme_example"}

    exec(compile(code[:later], "README.md", "exec"), scope)
    assert wait_for_memories(memproxy.url, "zhangsan"), "the first exchange was never remembered"
    exec(compile(code[later:], "README.md", "exec"), scope)

    streamed = capsys.readouterr().out
    assert "四川" in streamed  # the fake model echoes the question, chunk by chunk
    system = [m["content"] for m in memproxy.upstream.requests[-1]["messages"] if m["role"] == "system"]
    assert system and "我叫张三" in system[0] and "不能吃辣" in system[0]


@pytest.mark.smoke
@pytest.mark.skipif(not MEM0_2X.exists(), reason="no mem0ai 2.2.1 environment: bash tests/api/mem0_envs.sh 2.2.1")
def test_the_mem0_example_works_as_written_with_mem0ai_2(memproxy: Running) -> None:
    code = memproxy.example("Moving from Mem0")
    code = code.replace('client.search(', 'found = client.search(') + "\nprint(found['results'][0]['memory'])\n"
    done = subprocess.run([str(MEM0_2X), "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PATH": os.environ["PATH"], "HOME": str(memproxy.folder), "MEM0_TELEMETRY": "False"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "sushi" in done.stdout


def test_the_python_client_example_finds_what_it_added(memproxy: Running, capsys) -> None:
    exec(compile(memproxy.example("Python client, chat page, Docker"), "README.md", "exec"),
         {"__name__": "readme_example"})
    assert "不能吃辣" in capsys.readouterr().out


def test_the_library_example_returns_what_its_comments_promise(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # Memory() uses ./data
    scope = run_with_results(readme_block("The library in 30 seconds"))
    scope["m"].close()
