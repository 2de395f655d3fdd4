"""Drive a released ``mem0ai`` client against a live memproxy and print what it saw.

Run with the Python of one of the environments ``tests/api/mem0_envs.sh`` builds::

    .venv-mem0-2.2.1/bin/python tests/api/mem0_client_script.py \
        --base-url http://127.0.0.1:8888 --key mk_... --other-key mk_... --user alice-1

It prints one JSON object: each step's answer (or the exception it raised, as
``{"error": "MemoryNotFoundError", ...}``). The pytest test that runs it
(tests/api/test_api_mem0_clients.py) says what each answer must be. The script makes
no judgement of its own, so a failure shows up there, next to the expectation.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import sys
from typing import Any, Callable

os.environ.setdefault("MEM0_TELEMETRY", "False")

VERSION = importlib.metadata.version("mem0ai")
MAJOR = int(VERSION.split(".")[0])
MINOR = int(VERSION.split(".")[1])


def outcome(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:  # the test compares the class name
        return {"error": type(exc).__name__, "message": str(exc)[:300]}


async def aoutcome(coro: Any) -> Any:
    try:
        return await coro
    except Exception as exc:
        return {"error": type(exc).__name__, "message": str(exc)[:300]}


def by_user(user: str) -> dict[str, Any]:
    """How this release names a subject in search()/get_all(): 2.x only takes filters."""
    return {"filters": {"user_id": user}} if MAJOR >= 2 else {"user_id": user}


def first_id(added: Any) -> str | None:
    if isinstance(added, dict):
        for r in added.get("results") or ():
            if r.get("event") == "ADD":
                return r["id"]
    return None


def sync_flow(MemoryClient: Any, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    client = MemoryClient(api_key=args.key, host=args.base_url)
    out["ping"] = {"org_id": client.org_id, "project_id": client.project_id}
    user = args.user

    out["add"] = outcome(lambda: client.add(
        [{"role": "user", "content": "我叫张三，我不能吃辣。"},
         {"role": "assistant", "content": "好的，记住了。"}], user_id=user, metadata={"source": "mem0-test"}))
    out["add_second"] = outcome(lambda: client.add("I live in Hangzhou and love green tea.", user_id=user))
    memory_id = first_id(out["add"])

    out["search"] = outcome(lambda: client.search("我能吃辣的吗？", **by_user(user)))
    if MAJOR == 0:
        out["search_v1_1"] = outcome(lambda: client.search("我能吃辣的吗？", user_id=user, output_format="v1.1"))
    out["get_all"] = outcome(lambda: client.get_all(**by_user(user)))
    if MAJOR == 0:
        out["get_all_v2"] = outcome(lambda: client.get_all(version="v2", user_id=user))
    out["get_all_page"] = outcome(lambda: client.get_all(**by_user(user), page=1, page_size=1)
                                  if MAJOR >= 1 else client.get_all(version="v2", user_id=user, page=1,
                                                                    page_size=1))
    out["get"] = outcome(lambda: client.get(memory_id))
    out["update"] = outcome(lambda: client.update(memory_id, text="我叫张三，我现在能吃一点辣。"))
    out["get_after_update"] = outcome(lambda: client.get(memory_id))
    out["history"] = outcome(lambda: client.history(memory_id))
    out["users"] = outcome(lambda: client.users())

    other = MemoryClient(api_key=args.other_key, host=args.base_url)
    out["other_tenant"] = {
        "get": outcome(lambda: other.get(memory_id)),
        "update": outcome(lambda: other.update(memory_id, text="hijacked")),
        "history": outcome(lambda: other.history(memory_id)),
        "delete": outcome(lambda: other.delete(memory_id)),
        "search": outcome(lambda: other.search("我能吃辣的吗？", **by_user(user))),
        "get_all": outcome(lambda: other.get_all(**by_user(user))),
        "users": outcome(lambda: other.users()),
        "delete_all": outcome(lambda: other.delete_all(user_id=user)),
    }
    out["get_after_other_tenant"] = outcome(lambda: client.get(memory_id))

    out["delete"] = outcome(lambda: client.delete(memory_id))
    out["get_after_delete"] = outcome(lambda: client.get(memory_id))
    out["delete_all"] = outcome(lambda: client.delete_all(user_id=user))
    out["get_all_after_delete_all"] = outcome(lambda: client.get_all(**by_user(user)))
    if MAJOR >= 2:
        client.add("filters-style delete_all target", user_id=user + "-f")
        out["delete_all_filters"] = outcome(lambda: client.delete_all(filters={"user_id": user + "-f"}))
        out["get_all_after_filters_delete"] = outcome(lambda: client.get_all(filters={"user_id": user + "-f"}))

    client.add("one more memory for reset", user_id=user + "-r", agent_id="helper")
    out["reset"] = outcome(lambda: client.reset())
    out["users_after_reset"] = outcome(lambda: client.users())
    out["bad_key"] = outcome(lambda: MemoryClient(api_key="mk_" + "x" * 40, host=args.base_url))
    return out


async def async_flow(AsyncMemoryClient: Any, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    client = AsyncMemoryClient(api_key=args.key, host=args.base_url)
    user = args.user + "-async"
    out["add"] = await aoutcome(client.add([{"role": "user", "content": "I am allergic to peanuts."}],
                                           user_id=user))
    memory_id = first_id(out["add"])
    out["search"] = await aoutcome(client.search("Am I allergic to peanuts?", **by_user(user)))
    out["get_all"] = await aoutcome(client.get_all(**by_user(user)))
    out["get"] = await aoutcome(client.get(memory_id))
    out["update"] = await aoutcome(client.update(memory_id, text="I am allergic to peanuts and shellfish."))
    out["history"] = await aoutcome(client.history(memory_id))
    out["users"] = await aoutcome(client.users())
    out["delete"] = await aoutcome(client.delete(memory_id))
    out["get_after_delete"] = await aoutcome(client.get(memory_id))
    await client.add("async delete_all target", user_id=user)
    out["delete_all"] = await aoutcome(client.delete_all(user_id=user))
    out["get_all_after_delete_all"] = await aoutcome(client.get_all(**by_user(user)))
    await client.add("async reset target", user_id=user)
    out["reset"] = await aoutcome(client.reset())
    out["users_after_reset"] = await aoutcome(client.users())
    return out


def proxy_flow(args: argparse.Namespace) -> dict[str, Any]:
    """0.1.x's ``Mem0`` proxy client: memories through memproxy's Mem0 routes, the chat
    through its /v1/chat/completions (``base_url``)."""
    import time

    from mem0.proxy.main import Mem0

    out: dict[str, Any] = {}
    user = args.user + "-proxy"
    client = Mem0(api_key=args.key, host=args.base_url)
    client.mem0_client.add("I am vegetarian and I live in Berlin.", user_id=user)
    out["chat"] = outcome(lambda: client.chat.completions.create(
        model=args.chat_model, messages=[{"role": "user", "content": "What vegetarian dish should I cook tonight?"}],
        user_id=user, base_url=args.base_url + "/v1", api_key=args.key,
    ).model_dump())
    time.sleep(1.0)  # the client adds the conversation in a daemon thread
    out["memories_after"] = outcome(lambda: client.mem0_client.get_all(user_id=user))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--other-key", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--chat-model", default=None, help="run the 0.1.x Mem0 proxy flow with this model")
    args = parser.parse_args()

    from mem0 import AsyncMemoryClient, MemoryClient

    report: dict[str, Any] = {"version": VERSION}
    report["sync"] = sync_flow(MemoryClient, args)
    report["async"] = asyncio.run(async_flow(AsyncMemoryClient, args))
    if args.chat_model and MAJOR == 0:
        report["proxy"] = proxy_flow(args)
    json.dump(report, sys.stdout, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
