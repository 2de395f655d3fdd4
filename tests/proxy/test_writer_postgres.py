"""The shared write queue on a real PostgreSQL: replicas drain one queue without losing,
repeating or reordering a subject's writes; a dead replica's claim runs out and another
takes the job over; failures retry and end in the dead letters."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import defaultdict
from typing import Any

import pytest

pytest.importorskip("psycopg")

from memory_core.postgres import connect  # noqa: E402
from proxy.config import WriterConfig  # noqa: E402
from proxy.subject import Subject  # noqa: E402
from proxy.writer import MemoryWriter, PostgresWriteQueue, WriteQueue  # noqa: E402

FAST = WriterConfig(backoff=0.02, max_backoff=0.05, max_attempts=3, shutdown_grace=0.2, concurrency=4)


def exchange(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]


async def until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)


class RecordingMemory:
    """Records each write as (user, seq) and fails if one user's writes ever overlap."""

    def __init__(self, delay: float = 0.0, jitter: float = 0.0, hang: bool = False) -> None:
        self.applied: list[tuple[str, int]] = []
        self.started: list[tuple[str, int]] = []
        self.overlaps: list[str] = []
        self.delay, self.jitter, self.hang = delay, jitter, hang
        self.fail: Exception | None = None
        self.active: set[str] = set()

    async def add(self, messages: Any, *, user_id: str, metadata: dict[str, Any], **_: Any) -> dict[str, Any]:
        if user_id in self.active:
            self.overlaps.append(user_id)
        self.active.add(user_id)
        self.started.append((user_id, metadata["seq"]))
        try:
            if self.hang:
                await asyncio.Event().wait()
            await asyncio.sleep(self.delay + random.uniform(0, self.jitter))
            if self.fail is not None:
                raise self.fail
            self.applied.append((user_id, metadata["seq"]))
            return {"results": []}
        finally:
            self.active.discard(user_id)


@pytest.fixture
def replica(postgres_url):
    """``replica(name, **options)``: a PostgresWriteQueue on a pool of its own, as a
    separate memproxy process would have."""
    pools, queues = [], []

    def open_replica(name: str, **options: Any) -> PostgresWriteQueue:
        pool = connect(postgres_url, max_size=4)
        pools.append(pool)
        queues.append(PostgresWriteQueue(pool, name, **options))
        return queues[-1]

    yield open_replica
    for queue in queues:
        queue.close()
    for pool in pools:
        pool.close()


def submit(writer: MemoryWriter, user: str, seq: int) -> None:
    writer.submit(Subject("default", user), exchange(f"{user} {seq}"), {"seq": seq})


async def test_two_replicas_drain_one_queue_applying_every_write_once_in_each_subjects_order(replica):
    memory = RecordingMemory(jitter=0.01)  # shared: it sees overlaps across the two replicas
    writers = [MemoryWriter(replica(name), FAST, memory=lambda: memory) for name in ("a", "b")]
    for writer in writers:
        writer.start()
    users, per_user = [f"u{i}" for i in range(12)], 10
    for seq in range(per_user):
        for n, user in enumerate(users):
            await asyncio.to_thread(submit, writers[n % 2], user, seq)  # both replicas enqueue
    for writer in writers:
        await writer.drain()
    for writer in writers:
        await writer.stop()

    assert sorted(memory.applied) == sorted((u, s) for u in users for s in range(per_user))  # each exactly once
    for user in users:
        assert [s for u, s in memory.applied if u == user] == list(range(per_user))
    assert memory.overlaps == []
    assert all(writer.applied > 0 for writer in writers), "both replicas did part of the work"
    assert sum(writer.applied for writer in writers) == len(users) * per_user
    assert writers[0].queue.counts() == {"pending": 0, "dead_letters": 0}


def test_concurrent_claims_from_eight_threads_never_hand_out_a_job_twice_or_two_of_a_subject_at_once(replica):
    producer = replica("producer", listen=False)
    expected: dict[str, list[int]] = defaultdict(list)
    for seq in range(6):
        for i in range(30):
            expected[f"s{i}"].append(producer.put(f"s{i}", {"seq": seq}))
    queues = [replica(f"r{i}", listen=False) for i in range(8)]

    lock = threading.Lock()
    held: dict[str, int] = {}  # subject -> the job a thread holds now
    claimed: dict[str, list[int]] = defaultdict(list)
    problems: list[str] = []
    total = sum(len(ids) for ids in expected.values())

    def work(queue: PostgresWriteQueue) -> None:
        rng = random.Random()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with lock:
                if sum(len(ids) for ids in claimed.values()) == total and not held:
                    return
            jobs = queue.ready(time.time(), limit=rng.randint(1, 4))
            with lock:
                for job in jobs:
                    if job.subject in held:
                        problems.append(f"{job.subject}: job {job.id} handed out while {held[job.subject]} runs")
                    if any(job.id in ids for ids in claimed.values()):
                        problems.append(f"job {job.id} handed out twice")
                    held[job.subject] = job.id
                    claimed[job.subject].append(job.id)
            time.sleep(rng.uniform(0, 0.002))
            for job in jobs:
                with lock:  # let go before done: the next job of the subject exists only after it
                    del held[job.subject]
                queue.done(job.id)

    threads = [threading.Thread(target=work, args=(q,)) for q in queues]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert dict(claimed) == dict(expected)  # every job once, each subject in order
    assert producer.counts() == {"pending": 0, "dead_letters": 0}


def test_jobs_put_while_others_finish_keep_each_subjects_order_and_none_is_stranded(replica):
    # Few subjects, so a subject often empties (done) just as a replica queues its next job.
    producers = [replica(f"p{i}", listen=False) for i in range(4)]
    consumers = [replica(f"c{i}", listen=False) for i in range(4)]
    per_producer, subjects = 40, [f"s{i}" for i in range(5)]
    lock = threading.Lock()
    put_ids: dict[str, list[int]] = defaultdict(list)
    claimed: dict[str, list[tuple[int, int, int]]] = defaultdict(list)  # subject -> (id, producer, seq)
    held: set[str] = set()
    problems: list[str] = []
    total = len(producers) * per_producer

    def produce(n: int, queue: PostgresWriteQueue) -> None:
        for seq in range(per_producer):
            subject = subjects[(seq + n) % len(subjects)]
            job_id = queue.put(subject, {"producer": n, "seq": seq})
            with lock:
                put_ids[subject].append(job_id)

    def consume(queue: PostgresWriteQueue) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with lock:
                if sum(len(c) for c in claimed.values()) == total:
                    return
            jobs = queue.ready(time.time(), limit=2)
            with lock:
                for job in jobs:
                    if job.subject in held:
                        problems.append(f"two jobs of {job.subject} at once")
                    held.add(job.subject)
                    claimed[job.subject].append((job.id, job.payload["producer"], job.payload["seq"]))
            for job in jobs:
                with lock:
                    held.discard(job.subject)
                queue.done(job.id)
            if not jobs:
                time.sleep(0.001)

    threads = [threading.Thread(target=produce, args=(n, q)) for n, q in enumerate(producers)]
    threads += [threading.Thread(target=consume, args=(q,)) for q in consumers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert sum(len(c) for c in claimed.values()) == total, "a job was never handed out"
    for subject in subjects:
        ids = [job_id for job_id, _, _ in claimed[subject]]
        assert ids == sorted(put_ids[subject])  # each once, oldest first
        for n in range(len(producers)):
            seqs = [seq for _, producer, seq in claimed[subject] if producer == n]
            assert seqs == sorted(seqs)  # one replica's writes of a subject in the order it queued them
    assert producers[0].counts() == {"pending": 0, "dead_letters": 0}


def test_a_dead_replicas_claim_runs_out_and_another_replica_takes_the_job_over_with_its_attempts(
        postgres_url, replica):
    pool = connect(postgres_url)
    dying = PostgresWriteQueue(pool, "dying", lease_seconds=0.5, listen=False)
    survivor = replica("survivor", lease_seconds=0.5, listen=False)
    job_id = dying.put("alice", {"seq": 0})
    (job,) = dying.ready(time.time())
    dying.retry(job.id, "RuntimeError: first try failed", at=time.time())
    (job,) = dying.ready(time.time())
    assert job.attempts == 1
    pool.close()  # the replica dies: no done, no renewal

    assert survivor.ready(time.time()) == []  # its lease is still live
    time.sleep(0.6)
    (taken,) = survivor.ready(time.time())
    assert (taken.id, taken.attempts) == (job_id, 1)
    survivor.done(taken.id)
    assert survivor.counts() == {"pending": 0, "dead_letters": 0}


def test_a_replica_whose_claim_passed_to_another_cannot_finish_retry_or_bury_that_job(replica):
    slow, other = replica("slow", lease_seconds=0.3, listen=False), replica("other", listen=False)
    slow.put("alice", {"seq": 0})
    slow.put("alice", {"seq": 1})
    (job,) = slow.ready(time.time())
    time.sleep(0.4)
    (taken,) = other.ready(time.time())
    assert taken.id == job.id

    slow.done(job.id)
    slow.retry(job.id, "late", at=time.time())
    slow.bury(job.id, "late")
    assert other.counts() == {"pending": 2, "dead_letters": 0}
    assert slow.ready(time.time()) == []  # and alice's next job waits for the new holder
    other.done(taken.id)
    assert [j.payload["seq"] for j in slow.ready(time.time())] == [1]


async def test_a_writer_that_stops_renewing_loses_its_write_to_another_replica(replica):
    stuck = RecordingMemory(hang=True)
    first = MemoryWriter(replica("first", lease_seconds=0.6), FAST, memory=lambda: stuck)
    first.start()
    submit(first, "alice", 0)
    await until(lambda: stuck.started)
    first._renew_task.cancel()  # hung or partitioned: its claim is no longer renewed

    memory = RecordingMemory()
    second = MemoryWriter(replica("second", lease_seconds=0.6), FAST, memory=lambda: memory)
    second.start()
    await until(lambda: memory.applied, timeout=5)
    await second.drain()
    await second.stop()
    await first.stop()
    assert memory.applied == [("alice", 0)]
    assert second.queue.counts() == {"pending": 0, "dead_letters": 0}


async def test_a_write_that_runs_longer_than_the_lease_stays_with_the_replica_that_renews_it(replica):
    slow, other = RecordingMemory(delay=1.5), RecordingMemory()  # 2.5 leases
    first = MemoryWriter(replica("first", lease_seconds=0.6), FAST, memory=lambda: slow)
    second = MemoryWriter(replica("second", lease_seconds=0.6), FAST, memory=lambda: other)
    first.start()
    submit(first, "alice", 0)
    await until(lambda: slow.started)
    second.start()
    await first.drain()
    await second.stop()
    await first.stop()
    assert slow.applied == [("alice", 0)] and first.applied == 1
    assert other.started == []


async def test_a_failing_write_is_retried_then_dead_lettered_with_its_error(replica):
    memory = RecordingMemory()
    memory.fail = RuntimeError("store is down")
    writer = MemoryWriter(replica("a"), FAST, memory=lambda: memory)
    writer.start()
    submit(writer, "alice", 0)
    await writer.drain()
    await writer.stop()
    assert len(memory.started) == FAST.max_attempts
    assert (writer.applied, writer.retried) == (0, FAST.max_attempts - 1)
    assert writer.queue.counts() == {"pending": 0, "dead_letters": 1}
    (letter,) = writer.queue.dead_letters()
    assert letter["attempts"] == FAST.max_attempts
    assert letter["last_error"] == "RuntimeError: store is down"
    assert letter["payload"]["messages"][0]["content"] == "alice 0"


def test_dead_letters_have_the_same_shape_as_the_embedded_queues(replica, tmp_path):
    shared, embedded = replica("a"), WriteQueue(tmp_path / "q.sqlite3")
    for queue in (shared, embedded):
        queue.put("alice", {"messages": []}, now=100.0)
        (job,) = queue.ready(time.time())
        queue.bury(job.id, "ValueError: no", now=200.0)
    (a,), (b,) = shared.dead_letters(), embedded.dead_letters()
    embedded.close()
    assert a == b
    assert shared.counts() == embedded_counts(tmp_path) == {"pending": 0, "dead_letters": 1}


def embedded_counts(tmp_path) -> dict[str, int]:
    queue = WriteQueue(tmp_path / "q.sqlite3")
    try:
        return queue.counts()
    finally:
        queue.close()


async def test_shutdown_gives_back_unfinished_claims_so_another_replica_takes_them_at_once(replica):
    stuck = RecordingMemory(hang=True)
    first = MemoryWriter(replica("first", lease_seconds=30), FAST, memory=lambda: stuck)
    first.start()
    submit(first, "alice", 0)
    await until(lambda: stuck.started)
    await first.stop()  # grace 0.2 s: cancelled, left queued, claim released

    memory = RecordingMemory()
    second = MemoryWriter(replica("second", lease_seconds=30), FAST, memory=lambda: memory)
    started = time.monotonic()
    second.start()
    await until(lambda: memory.applied, timeout=5)
    await second.stop()
    assert time.monotonic() - started < 5  # not the 30 s lease
    assert memory.applied == [("alice", 0)]


async def test_a_write_queued_on_one_replica_wakes_another_at_once(replica):
    memory = RecordingMemory()
    idle = MemoryWriter(replica("idle", poll_interval=30), FAST, memory=lambda: memory)  # polls every 30 s
    idle.start()
    await asyncio.sleep(0.3)  # its first look found nothing
    busy = replica("busy", listen=False)
    started = time.monotonic()
    await asyncio.to_thread(busy.put, "alice", {"messages": exchange("hi"), "user_id": "alice",
                                               "metadata": {"seq": 0}})
    await until(lambda: memory.applied, timeout=5)
    woke_after = time.monotonic() - started
    await idle.stop()
    assert woke_after < 2  # by NOTIFY, not the 30 s poll


def test_a_queued_write_is_durable_and_its_payload_exact_once_put_returns(postgres_url, replica):
    payload = {"messages": [{"role": "user", "content": "我叫张三 \x00 emoji 🙂"}], "metadata": {"n": 1.5}}
    pool = connect(postgres_url)
    job_id = PostgresWriteQueue(pool, "a", listen=False).put("alice", payload)
    pool.close()
    (job,) = replica("b", listen=False).ready(time.time())
    assert (job.id, job.subject, job.payload, job.attempts) == (job_id, "alice", payload, 0)


def test_a_retried_job_waits_until_due_and_next_due_says_when(replica):
    queue = replica("a", listen=False)
    assert queue.next_due() is None
    queue.put("alice", {}, now=100.0)
    (job,) = queue.ready(100.0)
    assert queue.next_due() is None  # its only head is claimed
    queue.retry(job.id, "boom", at=150.0)
    assert queue.next_due() == 150.0
    assert queue.ready(149.0) == []
    (again,) = queue.ready(150.0)
    assert again.attempts == 1
