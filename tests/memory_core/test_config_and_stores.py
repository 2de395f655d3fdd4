"""Configuration, the server-store adapter behind Memory, and store/embedder mismatch."""

import uuid

import numpy as np
import pydantic
import pytest

from memory_core import DimensionMismatchError, Memory, MemoryConfig
from memory_core.history import HistoryStore


def test_config_from_a_yaml_files_memory_section(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(f"memory:\n  data_dir: {tmp_path}/d\n  tenant: acme\n  search:\n    threshold: 0.6\n")
    cfg = MemoryConfig.from_file(path)
    assert (cfg.tenant, cfg.search.threshold) == ("acme", 0.6)


def test_a_bad_config_names_the_field():
    with pytest.raises(pydantic.ValidationError, match="search.threshold"):
        MemoryConfig.model_validate({"search": {"threshold": 3}})
    with pytest.raises(pydantic.ValidationError, match="colour"):
        MemoryConfig.model_validate({"colour": "blue"})


def test_memory_works_the_same_over_a_qdrant_server_store(tmp_path):
    # from_config builds its own embedder: the real offline loading path.
    m = Memory.from_config({"data_dir": str(tmp_path),
                            "vector_store": {"provider": "qdrant", "location": ":memory:"}})
    mid = m.add("我叫张三", user_id="zs", infer=False)["results"][0]["id"]
    assert m.search("我是谁？", user_id="zs")["results"][0]["id"] == mid
    assert m.get_all(user_id="zs")["total"] == 1
    m.delete(mid)
    assert m.get(mid) is None
    m.close()


class TinyEmbedder:
    """A stand-in with another vector size: only used to provoke the mismatch."""

    name, dims = "tiny", 8

    def embed_queries(self, texts):
        return np.ones((len(texts), 8), dtype=np.float32) / np.sqrt(8)

    embed_documents = embed_queries

    def score(self, cosine):
        return cosine


def test_opening_a_store_built_for_another_vector_size_names_both_sizes(tmp_path, embedder):
    Memory({"data_dir": str(tmp_path)}, embedder=embedder).close()
    with pytest.raises(DimensionMismatchError) as err:
        Memory({"data_dir": str(tmp_path)}, embedder=TinyEmbedder())
    assert "384" in str(err.value) and "8" in str(err.value)


def test_recording_a_history_event_does_not_read_the_whole_history(tmp_path):
    # Events are numbered MAX(seq) + 1. Without an index on seq that read every row, so
    # every write got slower as the history grew (240 ms a write at 300k events).
    history = HistoryStore(tmp_path / "history.sqlite3")

    def events(n: int) -> list[dict]:
        return [{"memory_id": uuid.uuid4().hex, "tenant": "t", "event": "ADD", "new_memory": "x",
                 "created_at": "2026-01-01T00:00:00.000000Z"} for _ in range(n)]

    def sqlite_steps_to_record_one() -> int:
        steps = 0

        def count() -> int:
            nonlocal steps
            steps += 1
            return 0  # go on

        history._conn.set_progress_handler(count, 10)  # called every 10 SQLite VM instructions
        history.record(events(1))
        history._conn.set_progress_handler(None, 0)
        return steps

    history.record(events(100))
    with_100 = sqlite_steps_to_record_one()
    history.record(events(5000))
    assert sqlite_steps_to_record_one() <= with_100 + 5  # not ~50 times as many
    history.close()
