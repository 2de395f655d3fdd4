"""Building the app and importing the packages have no side effects: no file is opened
and no environment variable set until the server starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from proxy import ProxyConfig, create_app

REPO = Path(__file__).resolve().parents[2]


def test_building_the_app_touches_no_file(tmp_path):
    data_dir = tmp_path / "not-yet"
    create_app(ProxyConfig.parse({"memory": {"data_dir": str(data_dir)},
                                  "models": [{"name": "m", "model": "openai/m", "api_key": "sk-x"}]}))
    assert not data_dir.exists()


def test_importing_memproxy_sets_no_environment_variable():
    code = ("import os; before = dict(os.environ)\n"
            "import proxy, proxy.app, proxy.cli, memory_core\n"
            "from memory_core.extraction.litellm_client import LiteLLMClient\n"
            "from memory_core.llm import LLMConfig\n"
            "LiteLLMClient(LLMConfig(model='openai/x'))\n"
            "changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))\n"
            "assert not changed, changed\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_memory_api_answers_a_body_over_its_documented_1_mib_with_a_413(proxy):
    import httpx

    body = '{"content": "' + "x" * (2 * 1024 * 1024) + '", "userId": "u"}'
    rest = httpx.post(proxy.url + "/v1/memories", content=body, headers={"Content-Type": "application/json"})
    mem0 = httpx.post(proxy.url + "/v1/memories/", content=body, headers={"Content-Type": "application/json"})

    assert (rest.status_code, rest.json()["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
    # Mem0's SDK turns a 400 into its ValidationError: the Mem0 routes answer 400, same code.
    assert (mem0.status_code, mem0.json()["code"]) == (400, "PAYLOAD_TOO_LARGE")
