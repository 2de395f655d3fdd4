"""Racing adds, AsyncMemory, and the event loop staying free."""

import asyncio
import threading

from memory_core import AsyncMemory


def test_racing_adds_of_one_fact_store_it_once(memory):
    barrier = threading.Barrier(4)

    def add():
        barrier.wait()
        memory.add("I play the cello", user_id="u", infer=False)

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert memory.get_all(user_id="u")["total"] == 1


async def test_async_memory_has_the_same_methods_as_coroutines(tmp_path, embedder):
    async with AsyncMemory({"data_dir": str(tmp_path)}, embedder=embedder) as mem:
        added = await mem.add("我喜欢喝绿茶", user_id="zs", infer=False)
        mid = added["results"][0]["id"]
        found = await mem.search("我爱喝什么？", user_id="zs")
        assert found["results"][0]["id"] == mid
        assert (await mem.get(mid))["memory"] == "我喜欢喝绿茶"
        assert (await mem.get_all(user_id="zs"))["total"] == 1
        await mem.update(mid, "我喜欢喝红茶")
        assert [h["event"] for h in await mem.history(mid)] == ["ADD", "UPDATE"]
        await mem.delete(mid)
        assert await mem.get(mid) is None


async def test_async_calls_leave_the_event_loop_free(tmp_path, embedder):
    async with AsyncMemory({"data_dir": str(tmp_path)}, embedder=embedder) as mem:
        ticks = 0
        stop = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        texts = [f"memory number {i} about topic {i}" for i in range(20)]
        await mem.add([{"role": "user", "content": t} for t in texts], user_id="u", infer=False)
        stop.set()
        await task
        # The loop kept running while 20 texts were embedded and stored in a thread.
        assert ticks > 20


def test_a_delete_racing_an_update_stays_deleted(memory):
    from memory_core.errors import MemoryNotFoundError

    for round_no in range(15):
        mid = memory.add(f"round {round_no}: I live in Lyon", user_id="racer", infer=False)["results"][0]["id"]
        barrier = threading.Barrier(2)
        outcome: dict[str, str] = {}

        def update() -> None:
            barrier.wait()
            try:
                memory.update(mid, f"round {round_no}: I live in Nice")
                outcome["update"] = "ok"
            except MemoryNotFoundError:
                outcome["update"] = "gone"

        def delete() -> None:
            barrier.wait()
            memory.delete(mid)

        threads = [threading.Thread(target=update), threading.Thread(target=delete)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        assert memory.get(mid) is None, f"round {round_no}: the deleted memory came back"
        events = [h["event"] for h in memory.history(mid)]
        assert events[-1] == "DELETE" and events == (["ADD", "UPDATE", "DELETE"] if outcome["update"] == "ok"
                                                     else ["ADD", "DELETE"])
