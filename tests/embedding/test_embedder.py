"""The embedder as memory search uses it: prefixes, text handling, calibrated scores."""

from __future__ import annotations

import numpy as np
import pytest

from memory_core.embedding import Embedder, EmbedderConfig, create_embedder, default_cache_dir
from memory_core.embedding import e5_offline
from memory_core.errors import EmbedderUnavailableError, ValidationError

from .calibration_pairs import EN, ZH, split_pairs


def _scores(emb, pairs):
    q = emb.embed_queries([a for a, _ in pairs])
    d = emb.embed_documents([b for _, b in pairs])
    return np.array([emb.score(float(c)) for c in (q * d).sum(axis=1)])


def test_default_embedder_is_offline_multilingual_e5(e5):
    assert isinstance(e5, Embedder)
    assert (e5.name, e5.dims) == ("multilingual-e5-small", 384)


def test_first_product_example_finds_the_name(e5):
    """m.add("你好，我叫张三"); m.search("我是谁？") finds it above 0.5, above a hobby."""
    q = e5.embed_queries(["我是谁？"])[0]
    name, hobby = e5.embed_documents(["你好，我叫张三", "我喜欢打篮球"])
    assert e5.score(float(q @ name)) > 0.5
    assert e5.score(float(q @ name)) > e5.score(float(q @ hobby))


@pytest.mark.parametrize("pairs", [ZH, EN], ids=["zh", "en"])
def test_each_question_ranks_its_own_memory_high(e5, pairs):
    q = e5.embed_queries([a for a, _ in pairs])
    d = e5.embed_documents([b for _, b in pairs])
    sims = q @ d.T
    ranks = [(sims[i] > sims[i, i]).sum() + 1 for i in range(len(pairs))]
    assert np.mean(np.array(ranks) == 1) >= 0.85 and max(ranks) <= 3


@pytest.mark.parametrize("pairs", [ZH, EN], ids=["zh", "en"])
def test_related_pairs_score_above_the_threshold(e5, pairs):
    related, _ = split_pairs(pairs)
    assert np.mean(_scores(e5, related) > 0.5) >= 0.85


def test_unrelated_english_pairs_score_below_the_threshold(e5):
    _, unrelated = split_pairs(EN)
    assert np.mean(_scores(e5, unrelated) < 0.5) >= 0.95


def test_unrelated_chinese_pairs_score_below_related_ones(e5):
    """e5-small's Chinese cosines run higher than English ones, so a single cosine
    map cannot put every unrelated zh pair under 0.5 without losing English
    recall; within Chinese, unrelated pairs still score lower on average."""
    related, unrelated = split_pairs(ZH)
    assert np.median(_scores(e5, unrelated)) < np.percentile(_scores(e5, related), 20)


def test_paraphrases_of_a_memory_are_near_duplicates(e5):
    a = e5.embed_documents(["我叫张三", "I'm allergic to shellfish"])
    b = e5.embed_documents(["我的名字是张三", "I have a shellfish allergy"])
    assert all(e5.score(float(c)) > 0.75 for c in (a * b).sum(axis=1))
    assert e5.score(1.0) == 1.0 and e5.score(-1.0) == 0.0


def test_queries_and_documents_get_different_prefixes(e5):
    q, d = e5.embed_queries(["我是谁？"])[0], e5.embed_documents(["我是谁？"])[0]
    assert float(q @ d) < 0.99


def test_surrounding_whitespace_is_ignored(e5):
    a, b = e5.embed_documents(["  我喜欢打篮球 \n", "我喜欢打篮球"])
    assert float(a @ b) > 0.99999


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_text_is_a_validation_error(e5, text):
    with pytest.raises(ValidationError):
        e5.embed_documents(["fine", text])
    with pytest.raises(ValidationError):
        e5.embed_queries([text])


def test_an_empty_list_gives_no_vectors(e5):
    assert e5.embed_documents([]).shape == (0, 384)


def test_a_batch_keeps_input_order(e5):
    texts = ["short", "a much longer sentence about " + "many things " * 20, "中等长度的句子"]
    batch = e5.embed_documents(texts)
    single = np.stack([e5.embed_documents([t])[0] for t in texts])
    assert np.allclose(batch, single, atol=1e-4)


def test_text_beyond_512_tokens_is_cut_not_an_error(e5):
    long = "我每天早上都去公园跑步，然后吃早饭。" * 200  # thousands of tokens
    a, b = e5.embed_documents([long, long + " And a different ending."])
    assert float(a @ b) > 0.99999  # the tail past the cut changes nothing


def test_local_provider_loads_a_model_folder(e5):
    folder = default_cache_dir() / e5_offline.FOLDER_NAME
    local = create_embedder(
        EmbedderConfig(provider="local", path=folder, dims=384, query_prefix="query: ",
                       document_prefix="passage: ")
    )
    assert float(local.embed_queries(["我是谁？"])[0] @ e5.embed_queries(["我是谁？"])[0]) > 0.99999


def test_local_provider_with_wrong_dims_is_unavailable(e5):
    folder = default_cache_dir() / e5_offline.FOLDER_NAME
    with pytest.raises(EmbedderUnavailableError, match="384"):
        create_embedder(EmbedderConfig(provider="local", path=folder, dims=768))


def test_local_provider_names_missing_files(tmp_path):
    with pytest.raises(EmbedderUnavailableError, match="model.onnx"):
        create_embedder(EmbedderConfig(provider="local", path=tmp_path, dims=384))


def test_fastembed_provider_unknown_model_points_to_offline_options(tmp_path):
    cfg = EmbedderConfig(provider="fastembed", model="nobody/no-such-model", cache_dir=tmp_path)
    with pytest.raises(EmbedderUnavailableError, match="e5-offline"):
        create_embedder(cfg)


def test_config_rejects_fields_of_other_providers():
    with pytest.raises(ValueError):
        EmbedderConfig(provider="e5-offline", dims=384)
    with pytest.raises(ValueError):
        EmbedderConfig(provider="local")
    with pytest.raises(ValueError):
        EmbedderConfig(provider="fastembed")
    with pytest.raises(ValueError):
        EmbedderConfig(provdier="local")
