"""Two memproxy replicas on one PostgreSQL serve the same tenants: what one stores the
other finds, the write queue drained by both loses nothing and keeps each user's order,
a replica killed in the middle of its writes has them finished by the other, and a key
revoked through one is refused by the other."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

pytestmark = pytest.mark.slow


def memories(url: str, user: str, **headers: str) -> list[dict]:
    page = httpx.get(f"{url}/v1/memories", params={"userId": user, "limit": 100}, headers=headers, timeout=30)
    assert page.status_code == 200, page.text
    return page.json()["items"]


def chat(url: str, user: str, text: str, **headers: str) -> int:
    return httpx.post(f"{url}/v1/chat/completions", headers=headers, timeout=60, json={
        "model": "echo", "user": user, "messages": [{"role": "user", "content": text}]}).status_code


def test_a_memory_added_through_one_replica_is_found_through_the_other(cluster):
    with cluster.replica("--open") as a, cluster.replica("--open") as b:
        added = httpx.post(f"{a.url}/v1/memories", timeout=30, json={
            "userId": "alice", "content": "我住在杭州，喜欢喝龙井茶"})
        assert added.status_code == 201, added.text
        found = httpx.post(f"{b.url}/v1/memories/search", timeout=30, json={
            "userId": "alice", "query": "我喜欢喝什么茶？"}).json()["results"]
        assert [m["content"] for m in found][:1] == ["我住在杭州，喜欢喝龙井茶"]
        memory_id = added.json()["id"]
        assert httpx.delete(f"{b.url}/v1/memories/{memory_id}", timeout=30).status_code == 200
        assert httpx.get(f"{a.url}/v1/memories/{memory_id}", timeout=30).status_code == 404
        history = httpx.get(f"{a.url}/v1/memories/{memory_id}/history", timeout=30).json()["items"]
        assert [e["event"] for e in history] == ["ADD", "DELETE"]


FACTS = ["I was born in Lisbon", "my sister is called Ana", "I work night shifts as a baker",
         "our cat is named Miso", "on Sundays I play the cello"]


def test_the_queue_drained_by_both_loses_nothing_and_keeps_each_users_order(cluster, wait):
    users = 6
    with cluster.replica("--open") as a, cluster.replica("--open") as b:
        def converse(user: int) -> list[int]:
            # each user's turns alternate between the replicas, one after the other
            return [chat((a, b)[step % 2].url, f"u{user}", fact) for step, fact in enumerate(FACTS)]

        with ThreadPoolExecutor(users) as pool:
            statuses = [s for run in pool.map(converse, range(users)) for s in run]
        assert statuses == [200] * (users * len(FACTS))
        wait(lambda: httpx.get(f"{a.url}/readyz").json()["write_queue"]["pending"] == 0, what="the queue to drain")
        for user in range(users):
            stored = memories(b.url, f"u{user}")  # newest first: the order the writes were applied
            said = [m["content"] for m in stored if m["content"] in FACTS]
            assert said == FACTS[::-1], f"user {user}"


def test_writes_claimed_by_a_replica_killed_with_9_are_finished_by_the_other(cluster, wait):
    chats = 24
    with cluster.replica("--open") as survivor:
        doomed = cluster.replica("--open", writer={"lease_seconds": 3, "concurrency": 1, "backoff": 0.2})
        with doomed:
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(lambda i: chat(doomed.url, f"crash-{i}", f"my lucky number is {i}"),
                                         range(chats)))
            doomed.process.send_signal(signal.SIGKILL)
            doomed.process.wait()
        assert statuses == [200] * chats
        wait(lambda: httpx.get(f"{survivor.url}/readyz").json()["write_queue"]["pending"] == 0, timeout=120,
             what="the survivor to finish the dead replica's writes")
        missing = [i for i in range(chats)
                   if not any(f"number is {i}" in m["content"] for m in memories(survivor.url, f"crash-{i}"))]
        assert missing == []


def test_a_key_revoked_through_one_replica_is_refused_by_the_other_within_a_second(cluster, wait):
    folder_a, folder_b = cluster.folder(), cluster.folder()
    created = cluster.command("keys", "create", "--tenant", "acme", "--json", folder=folder_a)
    assert created.returncode == 0, created.stderr
    import json

    key = json.loads(created.stdout)
    auth = {"Authorization": f"Bearer {key['key']}"}
    with cluster.replica(folder=folder_a) as a, cluster.replica(folder=folder_b) as b:
        assert chat(b.url, "alice", "hello", **auth) == 200
        assert chat(a.url, "alice", "hello") == 401  # a key exists: no open mode on either
        revoked = cluster.command("keys", "revoke", key["id"], folder=folder_b)
        assert revoked.returncode == 0, revoked.stderr
        import time

        time.sleep(1.0)
        assert chat(a.url, "alice", "hello", **auth) == 401
        assert chat(b.url, "alice", "hello", **auth) == 401


def test_metrics_are_scraped_from_each_replica(cluster):
    from prometheus_client.parser import text_string_to_metric_families

    with cluster.replica("--open") as a, cluster.replica("--open") as b:
        assert chat(a.url, "m", "hi") == 200
        for replica in (a, b):
            scraped = httpx.get(f"{replica.url}/metrics", timeout=30)
            assert scraped.status_code == 200
            names = {f.name for f in text_string_to_metric_families(scraped.text)}
            assert any(n.startswith("memproxy_") for n in names), names
