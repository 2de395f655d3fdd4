"""The background writer: durable, in order per subject, retried, dead-lettered, and
stopped gracefully."""

from __future__ import annotations

import asyncio

from fake_memory import FakeMemory

from memory_core.errors import ContentTooLongError
from proxy.config import WriterConfig
from proxy.subject import Subject
from proxy.writer import MemoryWriter, WriteQueue

ALICE = Subject(tenant="default", user_id="alice")
BOB = Subject(tenant="default", user_id="bob")
FAST = WriterConfig(backoff=0.02, max_backoff=0.05, max_attempts=3, shutdown_grace=0.2, concurrency=4)


def exchange(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]


async def until(condition, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_a_queued_exchange_survives_a_restart_and_is_applied_after_it(tmp_path):
    path = tmp_path / "queue.sqlite3"
    before = MemoryWriter(WriteQueue(path), FAST, memory=lambda: None)  # memory never loaded: a crash before it
    before.submit(ALICE, exchange("I live in Chengdu"))
    before.queue.close()

    memory = FakeMemory()
    after = MemoryWriter(WriteQueue(path), FAST, memory=lambda: memory)
    after.start()
    await until(lambda: memory.adds)
    await after.drain()
    await after.stop()
    assert memory.adds[0]["messages"][0]["content"] == "I live in Chengdu"
    assert memory.adds[0]["user_id"] == "alice" and memory.adds[0]["tenant"] == "default"
    assert after.queue.counts() == {"pending": 0, "dead_letters": 0}


async def test_writes_of_one_subject_are_applied_in_order(tmp_path):
    memory = FakeMemory()
    memory.add_delay = 0.01
    writer = MemoryWriter(WriteQueue(tmp_path / "q.sqlite3"), FAST, memory=lambda: memory)
    for i in range(8):
        writer.submit(ALICE, exchange(f"alice {i}"))
        writer.submit(BOB, exchange(f"bob {i}"))
    writer.start()
    await writer.drain()
    await writer.stop()
    alice = [a["messages"][0]["content"] for a in memory.adds if a["user_id"] == "alice"]
    bob = [a["messages"][0]["content"] for a in memory.adds if a["user_id"] == "bob"]
    assert alice == [f"alice {i}" for i in range(8)]
    assert bob == [f"bob {i}" for i in range(8)]


async def test_a_failing_write_is_retried_with_backoff_and_then_succeeds(tmp_path):
    memory = FakeMemory()
    failures = iter([RuntimeError("embedder hiccup")])

    original = memory.add

    async def flaky(messages, **kwargs):
        error = next(failures, None)
        if error:
            memory.adds.append({"failed": True})
            raise error
        return await original(messages, **kwargs)

    memory.add = flaky
    writer = MemoryWriter(WriteQueue(tmp_path / "q.sqlite3"), FAST, memory=lambda: memory)
    writer.submit(ALICE, exchange("first"))
    writer.submit(ALICE, exchange("second"))
    writer.start()
    await writer.drain()
    await writer.stop()
    contents = [a["messages"][0]["content"] for a in memory.adds if "messages" in a]
    assert contents == ["first", "second"]  # the retry kept the order
    assert writer.queue.counts() == {"pending": 0, "dead_letters": 0}


async def test_a_write_that_keeps_failing_ends_in_the_visible_dead_letters(tmp_path):
    memory = FakeMemory()
    memory.fail_add = RuntimeError("store is down")
    writer = MemoryWriter(WriteQueue(tmp_path / "q.sqlite3"), FAST, memory=lambda: memory)
    writer.submit(ALICE, exchange("lost?"))
    writer.start()
    await writer.drain()
    await writer.stop()
    assert len(memory.adds) == FAST.max_attempts
    assert writer.queue.counts() == {"pending": 0, "dead_letters": 1}
    (letter,) = writer.queue.dead_letters()
    assert letter["attempts"] == FAST.max_attempts
    assert "store is down" in letter["last_error"]
    assert letter["payload"]["messages"][0]["content"] == "lost?"


async def test_a_write_that_cannot_succeed_is_dead_lettered_at_once(tmp_path):
    memory = FakeMemory()
    memory.fail_add = ContentTooLongError("too long")
    writer = MemoryWriter(WriteQueue(tmp_path / "q.sqlite3"), FAST, memory=lambda: memory)
    writer.submit(ALICE, exchange("x" * 100))
    writer.start()
    await writer.drain()
    await writer.stop()
    assert len(memory.adds) == 1
    assert writer.queue.counts()["dead_letters"] == 1


async def test_a_dead_letter_does_not_block_the_subjects_later_writes(tmp_path):
    memory = FakeMemory()
    calls = {"n": 0}
    original = memory.add

    async def first_fails(messages, **kwargs):
        calls["n"] += 1
        if messages[0]["content"] == "bad":
            raise RuntimeError("nope")
        return await original(messages, **kwargs)

    memory.add = first_fails
    writer = MemoryWriter(WriteQueue(tmp_path / "q.sqlite3"), FAST, memory=lambda: memory)
    writer.submit(ALICE, exchange("bad"))
    writer.submit(ALICE, exchange("good"))
    writer.start()
    await writer.drain()
    await writer.stop()
    assert [a["messages"][0]["content"] for a in memory.adds] == ["good"]
    assert writer.queue.counts() == {"pending": 0, "dead_letters": 1}


async def test_shutdown_leaves_unfinished_writes_queued_for_the_next_start(tmp_path):
    path = tmp_path / "q.sqlite3"
    slow = FakeMemory()
    slow.add_delay = 5
    writer = MemoryWriter(WriteQueue(path), FAST, memory=lambda: slow)
    writer.start()
    writer.submit(ALICE, exchange("in flight at shutdown"))
    await until(lambda: slow.adds)
    await writer.stop()  # grace 0.2 s < 5 s: the write is cancelled, not lost
    writer.queue.close()

    memory = FakeMemory()
    restarted = MemoryWriter(WriteQueue(path), FAST, memory=lambda: memory)
    restarted.start()
    await restarted.drain()
    await restarted.stop()
    assert [a["messages"][0]["content"] for a in memory.adds] == ["in flight at shutdown"]


async def test_shutdown_waits_for_writes_that_finish_within_the_grace(tmp_path):
    memory = FakeMemory()
    memory.add_delay = 0.05
    writer = MemoryWriter(WriteQueue(tmp_path / "q.sqlite3"), FAST, memory=lambda: memory)
    writer.start()
    writer.submit(ALICE, exchange("almost done"))
    await until(lambda: memory.adds)
    await writer.stop()
    assert writer.queue.counts()["pending"] == 0 and len(memory.items) == 1


async def test_submitting_from_a_worker_thread_wakes_the_writer_on_its_own_loop(tmp_path):
    # Starlette runs a sync background task in a worker thread. In debug mode asyncio
    # raises when its objects are touched from another thread, so this shows the
    # submit crossing threads safely.
    asyncio.get_running_loop().set_debug(True)
    memory = FakeMemory()
    writer = MemoryWriter(WriteQueue(tmp_path / "q.sqlite3"), FAST, memory=lambda: memory)
    writer.start()
    await asyncio.sleep(0.05)  # the dispatcher is waiting on its wake-up event

    await asyncio.gather(*(asyncio.to_thread(writer.submit, Subject("default", f"u{i}"), exchange(f"fact {i}"))
                           for i in range(8)))
    await until(lambda: len(memory.adds) == 8)
    await writer.stop()
    assert writer.queue.counts() == {"pending": 0, "dead_letters": 0}
