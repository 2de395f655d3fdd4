"""Configuration, the server-store adapter behind Memory, and store/embedder mismatch."""

import numpy as np
import pydantic
import pytest

from memory_core import DimensionMismatchError, Memory, MemoryConfig


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
