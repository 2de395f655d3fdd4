"""The real ``mem0ai`` clients (0.1.118, 1.0.11, 2.2.1), each from its own environment
(built by tests/api/mem0_envs.sh), against a live memproxy: a Mem0 user switches by
changing ``host``. Each release runs tests/api/mem0_client_script.py in a subprocess;
the expectations are here."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("mem0_client_script.py")
RELEASES = ["0.1.118", "1.0.11", "2.2.1"]


def python_of(version: str) -> Path:
    return ROOT / f".venv-mem0-{version}" / "bin" / "python"


def client_env(tmp: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), "MEM0_DIR": str(tmp / "mem0"),
            "MEM0_TELEMETRY": "False", "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONIOENCODING": "utf-8"}


def run_clients(base_url: str, keys: dict[str, tuple[str, str]], tmp: Path,
                chat_model: str | None = None, only: list[str] | None = None) -> dict[str, Any]:
    """Run the script of every installed release at once; {version: report or skip reason}."""
    running = {}
    for version in only or RELEASES:
        python = python_of(version)
        if not python.exists():
            continue
        key, other = keys[version]
        argv = [str(python), str(SCRIPT), "--base-url", base_url, "--key", key, "--other-key", other,
                "--user", f"alice-{uuid.uuid4().hex[:6]}"]
        if chat_model:
            argv += ["--chat-model", chat_model]
        running[version] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                            env=client_env(tmp), cwd=ROOT)
    reports: dict[str, Any] = {}
    for version, process in running.items():
        out, err = process.communicate(timeout=180)
        if process.returncode != 0:
            reports[version] = {"crashed": err[-4000:]}
        else:
            reports[version] = json.loads(out)
    return reports


@pytest.fixture(scope="module")
def reports(live, key_store, tmp_path_factory) -> dict[str, Any]:
    keys = {}
    for version in RELEASES:
        keys[version] = tuple(key_store.create(tenant=f"mem0-{version.replace('.', '-')}-{who}")[1]
                              for who in ("owner", "intruder"))
    return run_clients(live.url, keys, tmp_path_factory.mktemp("mem0-home"))


@pytest.fixture(params=RELEASES)
def report(request, reports) -> dict[str, Any]:
    return report_of(reports, request.param)


def report_of(reports: dict[str, Any], version: str) -> dict[str, Any]:
    if version not in reports:
        pytest.skip(f"mem0ai {version} is not installed: run `bash tests/api/mem0_envs.sh` "
                    f"to build .venv-mem0-{version}")
    found = reports[version]
    assert "crashed" not in found, found.get("crashed")
    assert found["version"] == version
    return found


def rows(answer: Any) -> list[dict[str, Any]]:
    """Memories out of a bare list (0.1.x) or a ``{"results": [...]}`` answer."""
    assert not (isinstance(answer, dict) and "error" in answer), answer
    return answer if isinstance(answer, list) else answer["results"]


def failed_with(answer: Any, *kinds: str) -> bool:
    return isinstance(answer, dict) and answer.get("error") in kinds


def test_the_client_connects_and_sees_its_tenant_as_the_project(report):
    sync = report["sync"]
    assert sync["ping"]["org_id"] == "memproxy"
    assert sync["ping"]["project_id"].startswith("mem0-") and sync["ping"]["project_id"].endswith("-owner")


def test_add_search_and_get_all(report):
    sync = report["sync"]
    [added] = sync["add"]["results"]
    assert (added["event"], added["memory"]) == ("ADD", "我叫张三，我不能吃辣。")

    assert rows(sync["search"])[0]["id"] == added["id"]
    assert rows(sync["search"])[0]["memory"] == "我叫张三，我不能吃辣。"
    listed = rows(sync["get_all"])
    assert [m["memory"] for m in listed] == ["I live in Hangzhou and love green tea.", "我叫张三，我不能吃辣。"]
    assert rows(sync["get_all_page"]) == listed[:1]


def test_0_1_x_search_gets_a_bare_list_and_v1_1_gets_results(reports):
    report = report_of(reports, "0.1.118")
    assert isinstance(report["sync"]["search"], list)
    assert isinstance(report["sync"]["search_v1_1"], dict)
    assert isinstance(report["sync"]["get_all"], list) and isinstance(report["sync"]["get_all_v2"], list)


def test_get_update_history_and_delete(report):
    sync = report["sync"]
    memory_id = sync["add"]["results"][0]["id"]
    assert sync["get"]["memory"] == "我叫张三，我不能吃辣。"
    assert sync["get"]["metadata"] == {"source": "mem0-test"}
    assert sync["update"]["memory"] == "我叫张三，我现在能吃一点辣。"
    assert sync["get_after_update"]["memory"] == "我叫张三，我现在能吃一点辣。"
    assert [h["event"] for h in sync["history"]] == ["ADD", "UPDATE"]
    assert all(h["memory_id"] == memory_id for h in sync["history"])
    assert "message" in sync["delete"]
    assert failed_with(sync["get_after_delete"], "MemoryNotFoundError")


def test_users_delete_all_and_reset(report):
    sync = report["sync"]
    assert [(e["type"], e["total_memories"]) for e in sync["users"]["results"]] == [("user", 2)]
    assert "message" in sync["delete_all"]
    assert rows(sync["get_all_after_delete_all"]) == []
    if report["version"].startswith("2."):
        assert "message" in sync["delete_all_filters"]
        assert rows(sync["get_all_after_filters_delete"]) == []
    assert "reset successful" in sync["reset"]["message"]
    assert sync["users_after_reset"]["results"] == []


def test_another_tenants_key_finds_nothing_and_changes_nothing(report):
    sync = report["sync"]
    other = sync["other_tenant"]
    for attempt in ("get", "update", "history", "delete"):
        assert failed_with(other[attempt], "MemoryNotFoundError"), (attempt, other[attempt])
    assert rows(other["search"]) == []
    assert rows(other["get_all"]) == []
    assert other["users"]["results"] == []
    assert sync["get_after_other_tenant"]["memory"] == "我叫张三，我现在能吃一点辣。"


def test_a_wrong_key_fails_when_the_client_is_created(report):
    assert failed_with(report["sync"]["bad_key"], "ValueError")
    assert "invalid" in report["sync"]["bad_key"]["message"]


def test_the_async_client_does_everything_too(report):
    flow = report["async"]
    [added] = flow["add"]["results"]
    assert rows(flow["search"])[0]["id"] == added["id"]
    assert [m["id"] for m in rows(flow["get_all"])] == [added["id"]]
    assert flow["get"]["memory"] == "I am allergic to peanuts."
    assert flow["update"]["memory"] == "I am allergic to peanuts and shellfish."
    assert [h["event"] for h in flow["history"]] == ["ADD", "UPDATE"]
    assert len(flow["users"]["results"]) == 1
    assert "message" in flow["delete"]
    # Older async clients raise httpx's own error for a 404; either way it is a 404.
    assert failed_with(flow["get_after_delete"], "MemoryNotFoundError", "HTTPStatusError")
    assert rows(flow["get_all_after_delete_all"]) == []
    assert "reset successful" in flow["reset"]["message"]
    assert flow["users_after_reset"]["results"] == []
