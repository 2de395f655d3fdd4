"""Client-side BM25 sparse vectors, so the Edge and the server adapter rank alike.

``sparse_document`` = ``qdrant_edge.Bm25`` (Multilingual tokenizer, English and
Chinese stopwords, English stemmer; Rust, no model files) plus a BM25 part over
the CJK character bigrams of the text (a fix for Chinese word-segmentation
misses). ``sparse_query`` gives 1.0 per unique token / bigram. The IDF is applied
by Qdrant (``Modifier.Idf`` on both sparse vectors). See docs/retrieval.md.

    doc = sparse_document(with_date(date_words(parse_timestamp("2023-05-08")), "I went ..."))
    q = sparse_query("When did Caroline go to the support group?")
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any

import qdrant_edge as qe

from memory_core.errors import ValidationError
from memory_core.vector_store.base import SparseVector

K1 = 1.2
B = 0.75
AVG_LEN_PLAIN = 16.0  # the "bm25" vector (the memory's text)
AVG_LEN_CTX = 32.0  # the "bm25_ctx" vector (previous message + text)

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK_RUN = re.compile(f"[{_CJK}]{{2,}}")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


@lru_cache(maxsize=4)
def _model(avg_len: float) -> qe.Bm25:
    return qe.Bm25(qe.Bm25Config(
        k=K1, b=B, avg_len=avg_len,
        tokenizer=qe.TokenizerType.Multilingual,
        stopwords=qe.StopwordsSet(languages={qe.Language.English, qe.Language.Chinese}),
        stemmer=qe.SnowballParams(qe.SnowballLanguage.English)))


def cjk_bigrams(text: str) -> list[str]:
    """Character bigrams of each run of 2+ CJK characters."""
    return [run[i:i + 2] for run in _CJK_RUN.findall(text.lower()) for i in range(len(run) - 1)]


def _bigram_index(bigram: str) -> int:
    # Stable across processes (never Python's salted hash()), in its own namespace.
    return zlib.crc32(("cjk2\x00" + bigram).encode("utf-8"))


def sparse_document(text: str, avg_len: float = AVG_LEN_PLAIN) -> SparseVector:
    """BM25 term weights of a stored text (document side; the IDF comes from Qdrant)."""
    v = _model(avg_len).embed_document(text)
    w = dict(zip(v.indices, v.values))
    bigrams = Counter(cjk_bigrams(text))
    n = sum(bigrams.values())
    for t, tf in bigrams.items():
        i = _bigram_index(t)
        w[i] = w.get(i, 0.0) + tf * (K1 + 1) / (tf + K1 * (1 - B + B * n / avg_len))
    return SparseVector(indices=[int(i) for i in w], values=[float(x) for x in w.values()])


def sparse_query(text: str) -> SparseVector:
    """1.0 per unique query token and CJK bigram."""
    v = _model(AVG_LEN_PLAIN).embed_query(text)
    w = dict(zip(v.indices, v.values))
    for t in set(cjk_bigrams(text)):
        w[_bigram_index(t)] = 1.0
    return SparseVector(indices=[int(i) for i in w], values=[float(x) for x in w.values()])


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 date/datetime string, epoch seconds, a date or a datetime; None passes."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise ValidationError("timestamp must be an ISO 8601 date/datetime string or epoch seconds")
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise ValidationError(f"timestamp {value!r} is out of range") from None
    if isinstance(value, str):
        text = value.strip()
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    raise ValidationError(
        f"timestamp {str(value)[:80]!r} is not an ISO 8601 date/datetime string or epoch seconds")


def date_words(when: datetime | None) -> str:
    """The date as BM25 keywords, e.g. "8 May 2023" (day, English month, year); "" for None."""
    if when is None:
        return ""
    return f"{when.day} {_MONTHS[when.month - 1]} {when.year}"


def with_date(date_text: str, text: str) -> str:
    return f"{date_text}\n{text}" if date_text else text


__all__ = ["sparse_document", "sparse_query", "cjk_bigrams", "parse_timestamp", "date_words", "with_date",
           "AVG_LEN_PLAIN", "AVG_LEN_CTX"]
