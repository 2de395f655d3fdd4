"""In the shared-state mode a subject's changes are serialised across processes, not only
threads: one process holding alice's scope makes another wait, other subjects do not, and an
edit racing a delete through two Memory objects never brings the memory back."""

from __future__ import annotations

import threading
import time

from memory_core import Memory
from memory_core.locks import SharedScopeLocks

ALICE = ("acme", "alice", None, None)


def test_a_scope_held_through_one_pool_makes_another_wait_and_other_scopes_do_not(postgres_url):
    one, two = SharedScopeLocks(postgres_url), SharedScopeLocks(postgres_url)
    order: list[str] = []
    try:
        def take_alice() -> None:
            with two.hold(ALICE):
                order.append("two got alice")

        with one.hold(ALICE):
            waiter = threading.Thread(target=take_alice)
            waiter.start()
            with two.hold(("acme", "bob", None, None)):
                order.append("two got bob")
            time.sleep(0.3)
            order.append("one lets go")
        waiter.join(10)
        assert order == ["two got bob", "one lets go", "two got alice"]
    finally:
        one.close()
        two.close()


def test_an_edit_racing_a_delete_in_another_replica_does_not_bring_the_memory_back(postgres_url, embedder, tmp_path):
    a = Memory({"data_dir": str(tmp_path / "a"), "database_url": postgres_url}, embedder=embedder)
    b = Memory({"data_dir": str(tmp_path / "b"), "database_url": postgres_url}, embedder=embedder)
    try:
        for round_no in range(5):
            added = a.add("I keep bees on the roof", user_id="alice", infer=False)["results"][0]["id"]
            errors: list[BaseException] = []

            def edit() -> None:
                try:
                    a.update(added, f"I keep bees on the roof, {round_no} hives")
                except Exception as exc:  # not found, once the delete won: that is fine
                    errors.append(exc)

            editor = threading.Thread(target=edit)
            editor.start()
            b.delete(added)
            editor.join(30)
            # whichever went first, the delete was last: the memory is gone, in both replicas
            assert a.get_all(user_id="alice")["results"] == [] == b.get_all(user_id="alice")["results"]
            assert all(type(e).__name__ == "MemoryNotFoundError" for e in errors), errors
    finally:
        a.close()
        b.close()
