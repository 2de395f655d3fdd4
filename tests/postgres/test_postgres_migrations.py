"""memory_core.postgres: the schema ledger every PostgreSQL-backed part migrates with."""

from __future__ import annotations

import threading

import pytest

from memory_core.postgres import DatabaseError, connect, migrate, redact, schema_version

STEPS = [
    "CREATE TABLE things (id INTEGER PRIMARY KEY)",
    "ALTER TABLE things ADD COLUMN name TEXT",
]


def test_steps_apply_once_in_order_and_a_second_start_applies_nothing(postgres_url):
    pool = connect(postgres_url)
    try:
        assert schema_version(pool, "things") == 0
        assert migrate(pool, "things", STEPS[:1]) == 1
        assert migrate(pool, "things", STEPS) == 1  # only the new step
        assert migrate(pool, "things", STEPS) == 0
        assert schema_version(pool, "things") == 2
        with pool.connection() as conn:
            conn.execute("INSERT INTO things (id, name) VALUES (1, 'a')")
    finally:
        pool.close()


def test_replicas_starting_at_once_apply_each_step_exactly_once(postgres_url):
    pools = [connect(postgres_url) for _ in range(4)]
    applied: list[int] = []
    errors: list[BaseException] = []

    def start(pool):
        try:
            applied.append(migrate(pool, "things", STEPS))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(p,)) for p in pools]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in pools:
        p.close()
    assert not errors
    assert sorted(applied) == [0, 0, 0, 2]


def test_a_failing_step_leaves_the_schema_at_the_step_before(postgres_url):
    pool = connect(postgres_url)
    try:
        with pytest.raises(Exception):
            migrate(pool, "things", [STEPS[0], "ALTER TABLE nowhere ADD COLUMN x INT"])
        assert schema_version(pool, "things") == 1
        assert migrate(pool, "things", STEPS) == 1
    finally:
        pool.close()


def test_an_unreachable_database_says_where_and_hides_the_password(tmp_path):
    url = f"postgresql://memproxy:s3cret@/memproxy?host={tmp_path}"
    with pytest.raises(DatabaseError) as caught:
        connect(url, timeout=1.0)
    assert "s3cret" not in str(caught.value)
    assert "cannot connect to PostgreSQL" in str(caught.value)
    assert "s3cret" not in redact("postgresql://u:s3cret@db:5432/x")
