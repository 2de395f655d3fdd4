"""An embedded data directory moves into the shared-state mode with one command
(``memproxy import ./data``), or through a file (``memproxy export`` then ``import``):
memories are found by the same searches, history, keys and queued writes come along,
and running the import again changes nothing."""

from __future__ import annotations

import json

import httpx
import pytest

pytestmark = pytest.mark.slow

FACTS = {"alice": ["我住在杭州，喜欢喝龙井茶", "我的猫叫小米"], "bob": ["I train for the Berlin marathon"]}


@pytest.fixture
def embedded(cluster, upstream_url, tmp_path):
    """A data directory used by an embedded server: memories, one edit, a key."""
    folder = tmp_path / "embedded"
    folder.mkdir()
    (folder / "config.yaml").write_text(json.dumps({
        "models": [{"name": "echo", "model": "openai/echo", "api_base": upstream_url, "api_key": "sk-test"}]}))
    created = cluster.command("keys", "create", "--tenant", "default", "--json", folder=folder)
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    auth = {"Authorization": f"Bearer {key['key']}"}
    from served import Served, user_env

    ids = {}
    with Served("--no-local-model", cwd=folder, env=user_env(), ready="/readyz") as server:
        for user, facts in FACTS.items():
            for fact in facts:
                added = httpx.post(f"{server.url}/v1/memories", headers=auth, timeout=30,
                                   json={"userId": user, "content": fact})
                assert added.status_code == 201, added.text
                ids[fact] = added.json()["id"]
        edited = httpx.patch(f"{server.url}/v1/memories/{ids['我的猫叫小米']}", headers=auth, timeout=30,
                           json={"content": "我的猫叫小米，三岁了"})
        assert edited.status_code == 200, edited.text
        before = httpx.post(f"{server.url}/v1/memories/search", headers=auth, timeout=30,
                            json={"userId": "alice", "query": "我喜欢喝什么茶？"}).json()["results"]
    return {"folder": folder, "data": folder / "data", "key": key, "auth": auth, "ids": ids, "before": before}


def check_moved(cluster, embedded) -> None:
    auth = embedded["auth"]
    with cluster.replica() as shared:
        after = httpx.post(f"{shared.url}/v1/memories/search", headers=auth, timeout=30,
                           json={"userId": "alice", "query": "我喜欢喝什么茶？"}).json()["results"]
        assert [(m["id"], m["score"]) for m in after] == [(m["id"], m["score"]) for m in embedded["before"]]
        bob = httpx.get(f"{shared.url}/v1/memories", headers=auth, params={"userId": "bob"}, timeout=30).json()
        assert [m["content"] for m in bob["items"]] == FACTS["bob"]
        cat = embedded["ids"]["我的猫叫小米"]
        history = httpx.get(f"{shared.url}/v1/memories/{cat}/history", headers=auth, timeout=30).json()["items"]
        assert [(e["event"], e["newContent"]) for e in history] == [("ADD", "我的猫叫小米"),
                                                                   ("UPDATE", "我的猫叫小米，三岁了")]
        assert httpx.get(f"{shared.url}/v1/memories", params={"userId": "bob"}, timeout=30).status_code == 401


def test_one_command_moves_a_data_directory_into_the_shared_mode(cluster, embedded):
    target = cluster.folder()
    moved = cluster.command("import", str(embedded["data"]), folder=target)
    assert moved.returncode == 0, moved.stderr
    assert "imported 3 memories, 4 history events, 1 API keys" in moved.stderr
    assert "records" in moved.stderr  # the progress bar
    check_moved(cluster, embedded)

    again = cluster.command("import", str(embedded["data"]), folder=target)
    assert again.returncode == 0, again.stderr
    check_moved(cluster, embedded)  # the same memories and history, nothing doubled


def test_running_the_import_again_brings_back_nothing_deleted_or_revoked_since(cluster, embedded):
    target = cluster.folder()
    assert cluster.command("import", str(embedded["data"]), folder=target).returncode == 0
    auth, bob = embedded["auth"], embedded["ids"][FACTS["bob"][0]]
    with cluster.replica(folder=target) as shared:
        assert httpx.delete(f"{shared.url}/v1/memories/{bob}", headers=auth, timeout=30).status_code == 200
    assert cluster.command("keys", "revoke", embedded["key"]["id"], folder=target).returncode == 0

    again = cluster.command("import", str(embedded["data"]), folder=target)
    assert again.returncode == 0, again.stderr
    with cluster.replica("--open", folder=target) as shared:
        assert httpx.get(f"{shared.url}/v1/memories/{bob}", timeout=30).status_code == 404
        assert httpx.get(f"{shared.url}/v1/memories", headers=auth, params={"userId": "bob"},
                         timeout=30).status_code == 401


def test_an_export_file_imports_the_same_and_a_damaged_one_is_refused(cluster, embedded, tmp_path):
    export = tmp_path / "memproxy-export.jsonl"
    made = cluster.command("export", "--output", str(export), folder=embedded["folder"])
    assert made.returncode == 0, made.stderr
    header = json.loads(export.read_text().splitlines()[0])
    assert header["kind"] == "memproxy-export" and header["counts"]["memory"] == 3

    target = cluster.folder()
    cut = tmp_path / "cut.jsonl"
    cut.write_text(export.read_text()[:-40])
    refused = cluster.command("import", str(cut), folder=target)
    assert refused.returncode == 1 and "damaged" in refused.stderr

    lines = export.read_text().splitlines(keepends=True)
    short = tmp_path / "short.jsonl"
    short.write_text("".join(lines[:-2]))  # cut at a line's end: only the counts can tell
    ended = cluster.command("import", str(short), folder=target)
    assert ended.returncode == 1 and "ends early" in ended.stderr

    loaded = cluster.command("import", str(export), folder=target)
    assert loaded.returncode == 0, loaded.stderr
    check_moved(cluster, embedded)


def test_import_refuses_a_directory_a_server_is_using_and_a_target_that_is_not_shared(cluster, embedded, tmp_path):
    from served import Served, user_env

    with Served("--no-local-model", cwd=embedded["folder"], env=user_env(), ready="/healthz"):
        busy = cluster.command("import", str(embedded["data"]), folder=cluster.folder())
    assert busy.returncode == 1 and "stop it" in busy.stderr

    plain = tmp_path / "plain"
    plain.mkdir()
    not_shared = cluster.command("import", str(embedded["data"]), folder=plain)
    assert not_shared.returncode == 1 and "database.url" in not_shared.stderr
