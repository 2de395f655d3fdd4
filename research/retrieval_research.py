"""Retrieval research: lexical, dense, contextual and hybrid methods on LoCoMo + MADial-zh.

    python research/retrieval_research.py --locomo /work/shared/data/locomo/locomo-dev.json \
                                       --madial /work/shared/data/madial-zh [--out table.md]

Prints the tables of docs/retrieval.md (~10 s once the embeddings are cached; the first
run embeds ~14k passages: ~25-40 min on 2 cores). Everything is exact (numpy cosine,
python BM25) and emulates what Qdrant (Edge or server) computes: dense cosine
prefetches and sparse prefetches (BM25 term weights on the document side as
qdrant_edge.Bm25 makes them, query terms weight 1, Modifier.Idf with per-user or
shard-wide IDF), each limited to ``PREFETCH`` candidates inside the user's filter,
then fused as Qdrant's RRF / DBSF over the union of the candidates, then (optionally)
the neighbour smoothing done client-side. research/research_edge.py runs the
recommended method through a real EdgeShard and gets the same figures. Embeddings are
cached in /tmp/retrieval_cache (research/research_embed.py).

Protocol (see the data READMEs): LoCoMo one memory per turn "{speaker}: {text}", one
user per conversation, a session's turns added in one add() call (so the neighbours
of a turn inside the same session are available at add time); question unchanged as
query; R@k over categories 1-4. MADial-zh: memory = event; each memory is its own
add() (no neighbours); whole dialogue as query (and last user turn, reported apart).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench.retrieval_sets import (  # noqa: E402
    RetrievalSet, load_locomo, load_madial, recall_at, session_any_at)
from research_embed import embed  # noqa: E402

PREFETCH = 100  # candidates per source before fusion (as a Qdrant prefetch limit)

# ----------------------------------------------------------------------------
# Tokenisers
# ----------------------------------------------------------------------------

_EN = re.compile(r"[a-z0-9]+")
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_RUN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")


def tok_en(text: str) -> list[str]:
    """The README's reference BM25 tokens: lowercase [a-z0-9]+."""
    return _EN.findall(text.lower())


def tok_bigram(text: str) -> list[str]:
    """Words for alphabetic scripts, character bigrams for CJK runs (unigram if 1 char)."""
    out: list[str] = []
    for run in _RUN.findall(text.lower()):
        if _IS_CJK.match(run):
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(run[i:i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def tok_unibigram(text: str) -> list[str]:
    """As tok_bigram plus the CJK unigrams."""
    out: list[str] = []
    for run in _RUN.findall(text.lower()):
        if _IS_CJK.match(run):
            out.extend(run)
            out.extend(run[i:i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


class QdrantTok:
    """Tokens as qdrant_edge.Bm25 makes them (ids are its hashed sparse indices).

    The term frequency is recovered from embed_document with b=0:
    w = tf (k+1) / (tf + k)  =>  tf = w k / (k + 1 - w).
    """

    def __init__(self, **cfg) -> None:
        import qdrant_edge as q

        self.cfg = cfg
        self.model = q.Bm25(q.Bm25Config(k=1.0, b=0.0, **cfg))
        self.cache: dict[str, list[int]] = {}

    def __call__(self, text: str) -> list[int]:
        if text not in self.cache:
            v = self.model.embed_document(text)
            toks: list[int] = []
            for i, w in zip(v.indices, v.values):
                tf = int(round(w * 1.0 / (2.0 - w)))
                toks.extend([int(i)] * max(tf, 1))
            self.cache[text] = toks
        return self.cache[text]


def qdrant_tok(name: str) -> QdrantTok:
    import qdrant_edge as q

    if name == "qdrant-default":  # Word tokenizer, english stopwords + stemmer
        return QdrantTok()
    if name == "qdrant-multi":  # Multilingual tokenizer (charabia: jieba-like for zh), no stopwords
        return QdrantTok(tokenizer=q.TokenizerType.Multilingual,
                         stopwords=q.StopwordsSet(languages=set(), custom=set()),
                         stemmer=q.DisabledStemmer())
    if name == "qdrant-multi-sw":  # + english & chinese stopwords, english stemmer
        return QdrantTok(tokenizer=q.TokenizerType.Multilingual,
                         stopwords=q.StopwordsSet(languages={q.Language.English, q.Language.Chinese}),
                         stemmer=q.SnowballParams(q.SnowballLanguage.English))
    raise ValueError(name)


# ----------------------------------------------------------------------------
# BM25 (document-side tf weights, query-side unique terms, IDF modifier)
# ----------------------------------------------------------------------------

@dataclass
class Bm25Params:
    k1: float = 1.2
    b: float = 0.75
    avg_len: float | None = None  # None: the corpus mean; a number: fixed (as qdrant_edge.Bm25Config)
    idf: str = "qdrant"  # "qdrant": ln(1+(N-n+.5)/(n+.5)); "okapi": rank_bm25's with epsilon floor
    scope: str = "global"  # IDF corpus: "global" (all users of this set), "user" (the user's own
    # memories: Qdrant SearchParams(idf=IdfParams(corpus=<user filter>))) or "fleet" (a shard-wide
    # IDF over ~1000 users: the other users of the set, scaled up to 999 users)
    fleet_users: int = 1000
    query_tf: bool = False  # weight query terms by their count (else each unique term once)


class Bm25Index:
    def __init__(self, docs_by_user: dict[str, list[list]], p: Bm25Params) -> None:
        self.p = p
        self.tf: dict[str, list[Counter]] = {}
        self.len: dict[str, np.ndarray] = {}
        all_lens = []
        for u, docs in docs_by_user.items():
            self.tf[u] = [Counter(d) for d in docs]
            self.len[u] = np.array([len(d) for d in docs], np.float32)
            all_lens.extend(len(d) for d in docs)
        self.avg_global = float(np.mean(all_lens)) if all_lens else 1.0
        self.df_global: Counter = Counter()
        self.df_user: dict[str, Counter] = {}
        for u, tfs in self.tf.items():
            c: Counter = Counter()
            for t in tfs:
                c.update(t.keys())
            self.df_user[u] = c
            self.df_global.update(c)
        self.n_global = sum(len(t) for t in self.tf.values())
        # inverted index per user: term -> (doc idx array, weight array)
        self.inv: dict[str, dict] = {}
        for u, tfs in self.tf.items():
            avg = p.avg_len if p.avg_len else (float(self.len[u].mean()) if p.scope == "user"
                                               else self.avg_global)
            inv: dict = defaultdict(lambda: ([], []))
            for i, t in enumerate(tfs):
                norm = p.k1 * (1 - p.b + p.b * self.len[u][i] / avg)
                for term, f in t.items():
                    inv[term][0].append(i)
                    inv[term][1].append(f * (p.k1 + 1) / (f + norm))
            self.inv[u] = {k: (np.array(v[0]), np.array(v[1], np.float32)) for k, v in inv.items()}

    def idf(self, u: str, term) -> float:
        if self.p.scope == "global":
            n, N = self.df_global.get(term, 0), self.n_global
        elif self.p.scope == "fleet":
            others = len(self.tf) - 1
            f = (self.p.fleet_users - 1) / max(others, 1)
            nu, Nu = self.df_user[u].get(term, 0), len(self.tf[u])
            n = nu + f * (self.df_global.get(term, 0) - nu)
            N = Nu + f * (self.n_global - Nu)
        else:
            n, N = self.df_user[u].get(term, 0), len(self.tf[u])
        if self.p.idf == "qdrant":
            return math.log(1 + (N - n + 0.5) / (n + 0.5))
        # rank_bm25 BM25Okapi: ln((N-n+.5)/(n+.5)), negatives floored at 0.25 * mean idf
        val = math.log((N - n + 0.5) / (n + 0.5))
        if val < 0:
            df = self.df_global if self.p.scope == "global" else self.df_user[u]
            NN = self.n_global if self.p.scope == "global" else len(self.tf[u])
            key = (self.p.scope, u if self.p.scope != "global" else "")
            if not hasattr(self, "_avgidf"):
                self._avgidf = {}
            if key not in self._avgidf:
                self._avgidf[key] = float(np.mean([math.log((NN - c + 0.5) / (c + 0.5)) for c in df.values()]))
            val = 0.25 * self._avgidf[key]
        return val

    def scores(self, u: str, query_tokens: list) -> np.ndarray:
        s = np.zeros(len(self.tf[u]), np.float32)
        qc = Counter(query_tokens)
        inv = self.inv[u]
        for term, c in qc.items():
            if term in inv:
                idx, w = inv[term]
                s[idx] += self.idf(u, term) * w * (c if self.p.query_tf else 1)
        return s


# ----------------------------------------------------------------------------
# Document variants (what text / vectors a memory gets at add time)
# ----------------------------------------------------------------------------

def add_calls(rs: RetrievalSet) -> dict[str, list[list[int]]]:
    """Per user, the add() calls as lists of memory indices (LoCoMo: one per session)."""
    out: dict[str, list[list[int]]] = {}
    for u, mems in rs.memories.items():
        if rs.session_of:
            groups: dict[str, list[int]] = {}
            for i, (k, _) in enumerate(mems):
                groups.setdefault(rs.session_of[k], []).append(i)
            out[u] = list(groups.values())
        else:
            out[u] = [[i] for i in range(len(mems))]
    return out


def context_texts(rs: RetrievalSet, before: int, after: int, sep: str = "\n") -> dict[str, list[str]]:
    """Each memory's text with up to `before` previous and `after` next messages of its add() call."""
    calls = add_calls(rs)
    out: dict[str, list[str]] = {}
    for u, mems in rs.memories.items():
        texts = [t for _, t in mems]
        ctx = list(texts)
        for call in calls[u]:
            for j, i in enumerate(call):
                lo, hi = max(0, j - before), min(len(call), j + after + 1)
                ctx[i] = sep.join(texts[call[x]] for x in range(lo, hi))
        out[u] = ctx
    return out


# ----------------------------------------------------------------------------
# Score sources and fusion
# ----------------------------------------------------------------------------

class Sources:
    """Per (set, query) score vectors over the user's memories, computed lazily."""

    def __init__(self, rs: RetrievalSet, queries_text: list[str] | None = None) -> None:
        self.rs = rs
        self.users = list(rs.memories)
        self.qtext = queries_text or [q.text for q in rs.queries]
        self._cache: dict[str, list[np.ndarray]] = {}
        self._docvec: dict[str, dict[str, np.ndarray]] = {}
        self._qvec: np.ndarray | None = None

    # dense -----------------------------------------------------------------
    def qvec(self) -> np.ndarray:
        if self._qvec is None:
            self._qvec = embed(self.qtext, "query")
        return self._qvec

    def docvec(self, variant: str) -> dict[str, np.ndarray]:
        if variant not in self._docvec:
            texts = self.doc_texts(variant)
            flat = [t for u in self.users for t in texts[u]]
            v = embed(flat, "passage")
            out, i = {}, 0
            for u in self.users:
                out[u] = v[i:i + len(texts[u])]
                i += len(texts[u])
            self._docvec[variant] = out
        return self._docvec[variant]

    def doc_texts(self, variant: str) -> dict[str, list[str]]:
        if variant.endswith("+date"):  # the add() call's date (caller metadata) as text
            base = self.doc_texts(variant[:-5])
            return {u: [f"{self.date_of(k)}\n{t}" for (k, _), t in zip(self.rs.memories[u], base[u])]
                    for u in self.users}
        if variant == "plain":
            return {u: [t for _, t in m] for u, m in self.rs.memories.items()}
        m = re.fullmatch(r"ctx(\d)(\d)", variant)  # ctx<before><after>
        if m:
            return context_texts(self.rs, int(m.group(1)), int(m.group(2)))
        raise ValueError(variant)

    def dense(self, variant: str = "plain") -> list[np.ndarray]:
        key = f"dense:{variant}"
        if key not in self._cache:
            qv, dv = self.qvec(), self.docvec(variant)
            self._cache[key] = [dv[q.user] @ qv[i] for i, q in enumerate(self.rs.queries)]
        return self._cache[key]

    def dense_max(self, variants: tuple[str, ...]) -> list[np.ndarray]:
        """Max cosine over several vectors per memory (a multivector with MAX_SIM)."""
        key = "densemax:" + ",".join(variants)
        if key not in self._cache:
            per = [self.dense(v) for v in variants]
            self._cache[key] = [np.max(np.stack([p[i] for p in per]), 0) for i in range(len(self.rs.queries))]
        return self._cache[key]

    def dense_prf(self, variant: str = "plain", k: int = 3, alpha: float = 0.5) -> list[np.ndarray]:
        """Rocchio pseudo-relevance feedback: q' = q + alpha * mean(top-k docs), second search."""
        key = f"prf:{variant}:{k}:{alpha}"
        if key not in self._cache:
            qv, dv = self.qvec(), self.docvec(variant)
            out = []
            for i, q in enumerate(self.rs.queries):
                s = dv[q.user] @ qv[i]
                top = np.argsort(-s)[:k]
                q2 = qv[i] + alpha * dv[q.user][top].mean(0)
                q2 /= np.linalg.norm(q2)
                out.append(dv[q.user] @ q2)
            self._cache[key] = out
        return self._cache[key]

    def date_of(self, key: str) -> str:
        """LoCoMo session date, "8 May 2023" (the caller-supplied time of an add() call)."""
        return self.dates.get(self.rs.session_of.get(key, ""), "")

    dates: dict[str, str] = {}

    # lexical ---------------------------------------------------------------
    def sparse(self, p: Bm25Params, variant: str = "plain") -> list[np.ndarray]:
        """The recommended sparse vector: qdrant_edge.Bm25 (Multilingual, en+zh stopwords, en
        stemmer) plus a second BM25 part over CJK character bigrams (disjoint indices, own
        length), both under the same IDF modifier: the scores add up."""
        a, b = self.bm25(TOK, p, variant), self.bm25("cjk-bigram", p, variant)
        return [x + y for x, y in zip(a, b)]

    def bm25(self, tok: str = "en", p: Bm25Params | None = None, variant: str = "plain") -> list[np.ndarray]:
        p = p or Bm25Params()
        key = f"bm25:{tok}:{p}:{variant}"
        if key not in self._cache:
            fn = TOKENISERS[tok]() if tok.startswith("qdrant") else TOKENISERS[tok]
            texts = self.doc_texts(variant)
            idx = Bm25Index({u: [fn(t) for t in texts[u]] for u in self.users}, p)
            self._cache[key] = [idx.scores(q.user, fn(self.qtext[i])) for i, q in enumerate(self.rs.queries)]
        return self._cache[key]


def tok_cjk_bigrams(text: str) -> list[str]:
    """Only the CJK character bigrams (a second BM25 part added to Qdrant's tokens)."""
    out: list[str] = []
    for run in _RUN.findall(text.lower()):
        if _IS_CJK.match(run) and len(run) > 1:
            out.extend(run[i:i + 2] for i in range(len(run) - 1))
    return out


def tok_qdrant_plus_bigrams(text: str) -> list:
    """Qdrant's multilingual tokens (+ stopwords, stemmer) plus CJK character bigrams."""
    toks = list(TOKENISERS["qdrant-multi-sw"]()(text))
    for run in _RUN.findall(text.lower()):
        if _IS_CJK.match(run) and len(run) > 1:
            toks.extend("bi:" + run[i:i + 2] for i in range(len(run) - 1))
    return toks


TOKENISERS = {
    "en": tok_en,
    "bigram": tok_bigram,
    "unibigram": tok_unibigram,
    "qdrant-default": lambda: qdrant_tok("qdrant-default"),
    "qdrant-multi": lambda: qdrant_tok("qdrant-multi"),
    "qdrant-multi-sw": lambda: qdrant_tok("qdrant-multi-sw"),
}
TOKENISERS["qdrant-multi-sw+bigram"] = lambda: tok_qdrant_plus_bigrams
TOKENISERS["cjk-bigram"] = tok_cjk_bigrams
_TOK_INST: dict[str, QdrantTok] = {}
for _n in ("qdrant-default", "qdrant-multi", "qdrant-multi-sw"):
    TOKENISERS[_n] = (lambda n: (lambda: _TOK_INST.setdefault(n, qdrant_tok(n))))(_n)


def topk(s: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(s))
    idx = np.argpartition(-s, k - 1)[:k]
    return idx[np.argsort(-s[idx], kind="stable")]


def candidates(s: np.ndarray, limit: int = PREFETCH, positive_only: bool = False) -> np.ndarray:
    """A prefetch: top `limit` (a sparse search only returns docs sharing a term)."""
    c = topk(s, limit)
    if positive_only:
        c = c[s[c] > 0]
    return c


def fuse_rrf(lists: list[np.ndarray], n: int, k: float = 60, weights: list[float] | None = None) -> np.ndarray:
    """Qdrant's (weighted) RRF: sum over lists of 1 / (rank / w + k - 1), rank from 1.

    (segment/src/common/reciprocal_rank_fusion.rs; with w=1 it is 1 / (k + position),
    position from 0; Qdrant's default k is 2.)
    """
    weights = weights or [1.0] * len(lists)
    f = np.zeros(n, np.float64)
    for w, c in zip(weights, lists):
        f[c] += 1.0 / (np.arange(1, len(c) + 1) / w + k - 1)
    return f


def fuse_dbsf(lists: list[np.ndarray], scores: list[np.ndarray], n: int,
              weights: list[float] | None = None) -> np.ndarray:
    """Qdrant's DBSF: per list, (s - (mu - 3 sd)) / (6 sd) over its candidates, summed."""
    weights = weights or [1.0] * len(lists)
    f = np.zeros(n, np.float64)
    for w, c, s in zip(weights, lists, scores):
        v = s[c].astype(np.float64)
        if len(v) == 0:
            continue
        mu, sd = v.mean(), v.std()
        if sd == 0:
            f[c] += w * 0.5
            continue
        f[c] += w * np.clip((v - (mu - 3 * sd)) / (6 * sd), 0, 1)
    return f


def hybrid(dense_lists: list[list[np.ndarray]], sparse_lists: list[list[np.ndarray]], method: str = "rrf",
           k: float = 60, weights: list[float] | None = None, limit: int = PREFETCH) -> list[np.ndarray]:
    """Fuse several dense and sparse sources per query as a Qdrant prefetch+fusion query does."""
    nq = len((dense_lists or sparse_lists)[0])
    out = []
    for i in range(nq):
        scores = [d[i] for d in dense_lists] + [s[i] for s in sparse_lists]
        cands = [candidates(d[i], limit) for d in dense_lists] + \
                [candidates(s[i], limit, positive_only=True) for s in sparse_lists]
        n = len(scores[0])
        if method == "rrf":
            f = fuse_rrf(cands, n, k, weights)
        elif method == "dbsf":
            f = fuse_dbsf(cands, scores, n, weights)
        else:
            raise ValueError(method)
        # documents in no candidate list cannot be returned: push them below everything
        seen = np.zeros(n, bool)
        for c in cands:
            seen[c] = True
        f[~seen] = -1
        out.append(f)
    return out


# ----------------------------------------------------------------------------
# Metrics
# ----------------------------------------------------------------------------

def evaluate(rs: RetrievalSet, score_lists: list[np.ndarray]) -> dict[str, float]:
    r5, r10, s5 = [], [], []
    cat: dict[int, list[float]] = defaultdict(list)
    for q, s in zip(rs.queries, score_lists):
        keys = [rs.memories[q.user][j][0] for j in topk(s, 10)]
        r5.append(recall_at(keys, q.gold, 5))
        r10.append(recall_at(keys, q.gold, 10))
        if rs.session_of:
            s5.append(session_any_at(keys, q, rs.session_of, 5))
        if q.category is not None:
            cat[q.category].append(r10[-1])
    out = {"R@5": float(np.mean(r5)), "R@10": float(np.mean(r10))}
    if s5:
        out["S@5"] = float(np.mean(s5))
    for c in sorted(cat):
        out[f"c{c}"] = float(np.mean(cat[c]))
    return out


def per_query_r10(rs: RetrievalSet, score_lists: list[np.ndarray]) -> np.ndarray:
    return np.array([recall_at([rs.memories[q.user][j][0] for j in topk(s, 10)], q.gold, 10)
                     for q, s in zip(rs.queries, score_lists)])


def paired_bootstrap(a: np.ndarray, b: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% interval of mean(b - a) over queries (paired bootstrap)."""
    rng = np.random.default_rng(seed)
    d = b - a
    m = np.array([d[rng.integers(0, len(d), len(d))].mean() for _ in range(n)])
    return float(np.percentile(m, 2.5)), float(np.percentile(m, 97.5))


# ----------------------------------------------------------------------------
# The experiment grid
# ----------------------------------------------------------------------------

def fmt_row(name: str, r: dict[str, float], pct: bool, extra: str = "") -> str:
    f = (lambda x: f"{100 * x:.1f}") if pct else (lambda x: f"{x:.3f}")
    cols = ["R@5", "R@10", "S@5", "c1", "c2", "c3", "c4"] if pct else ["R@5", "R@10"]
    return "| " + name + " | " + " | ".join(f(r[c]) if c in r else "" for c in cols) + " |" + \
        (f" {extra} |" if extra else "")


def neighbours(rs: RetrievalSet) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per user, index of the previous / next memory of the same add() call (-1: none)."""
    out = {}
    for u, calls in add_calls(rs).items():
        prev = np.full(len(rs.memories[u]), -1)
        nxt = np.full(len(rs.memories[u]), -1)
        for c in calls:
            for j in range(len(c)):
                if j:
                    prev[c[j]] = c[j - 1]
                if j + 1 < len(c):
                    nxt[c[j]] = c[j + 1]
        out[u] = (prev, nxt)
    return out


def smooth(rs: RetrievalSet, fused: list[np.ndarray], gamma: float = 0.5, top: int = 50) -> list[np.ndarray]:
    """Neighbour smoothing over the top `top` fused candidates (what the client receives):
    s'(i) = s(i) + gamma * max(s(prev(i)), s(next(i))), neighbours outside the top count 0."""
    if gamma == 0:
        return fused
    nb = neighbours(rs)
    out = []
    for q, s in zip(rs.queries, fused):
        prev, nxt = nb[q.user]
        known = np.zeros(len(s))
        idx = topk(s, top)
        known[idx] = np.maximum(s[idx], 0)
        ps = np.where(prev >= 0, known[np.maximum(prev, 0)], 0)
        ns = np.where(nxt >= 0, known[np.maximum(nxt, 0)], 0)
        s2 = np.full(len(s), -1.0)
        s2[idx] = s[idx] + gamma * np.maximum(ps, ns)[idx]
        out.append(s2)
    return out


class Table:
    """Rows with R@10 deltas (paired bootstrap 95% interval) against a chosen row."""

    def __init__(self, rs: RetrievalSet, out: list[str], pct: bool) -> None:
        self.rs, self.out, self.pct = rs, out, pct
        self.r10: dict[str, np.ndarray] = {}
        self.scores: dict[str, list[np.ndarray]] = {}

    def header(self, title: str) -> None:
        if self.pct:
            self.out += [f"\n{title}\n",
                         "| method | R@5 | R@10 | session any@5 | R@10 c1 multi-hop | c2 temporal | c3 open-domain "
                         "| c4 single-hop | R@10 vs ref. (95% CI) |",
                         "|---|---|---|---|---|---|---|---|---|"]
        else:
            self.out += [f"\n{title}\n", "| method | R@5 | R@10 | R@10 vs ref. (95% CI) |", "|---|---|---|---|"]

    def add(self, key: str, name: str, s: list[np.ndarray], ref: str | None = None) -> None:
        self.scores[key] = s
        self.r10[key] = per_query_r10(self.rs, s)
        extra = ""
        if ref is not None:
            lo, hi = paired_bootstrap(self.r10[ref], self.r10[key])
            d = self.r10[key].mean() - self.r10[ref].mean()
            m = 100 if self.pct else 1
            fmt = "{:+.1f}" if self.pct else "{:+.3f}"
            extra = f"{fmt.format(m * d)} [{fmt.format(m * lo)}, {fmt.format(m * hi)}] vs {ref}"
        self.out.append(fmt_row(f"{key}. {name}" if key[0].isalnum() else name, evaluate(self.rs, s), self.pct, extra))
        print(self.out[-1], flush=True)


def locomo_dates(path: str) -> dict[str, str]:
    """session key (as RetrievalSet.session_of) -> "8 May 2023": the date a caller would pass
    with the session's add() call (LoCoMo's session_N_date_time)."""
    import json

    out = {}
    for sample in json.loads(Path(path).read_text(encoding="utf-8")):
        for k, v in sample["conversation"].items():
            m = re.fullmatch(r"(session_\d+)_date_time", k)
            if m:
                d = re.search(r"(\d+) (\w+),? (\d{4})", v)
                out[f"{sample['sample_id']}/{m.group(1)}"] = " ".join(d.groups()) if d else v
    return out


TOK = "qdrant-multi-sw"  # qdrant_edge.Bm25: Multilingual tokenizer, en+zh stopwords, en stemmer


def run_locomo(path: str, out: list[str]) -> None:
    rs = load_locomo(path)
    S = Sources(rs)
    S.dates = locomo_dates(path)
    P = Bm25Params
    pu = P(scope="user", avg_len=16)  # per-user IDF, Bm25Config(avg_len=16): the recommended sparse side
    pc = P(scope="user", avg_len=32)  # contextual texts are ~2x longer
    d0, d1 = S.dense("plain"), S.dense("ctx10")
    # the recommended sparse vectors (qdrant_edge.Bm25 tokens + a CJK-bigram part, which is
    # empty on this English set)
    b0, b1 = S.sparse(pu), S.sparse(pc, "ctx10")
    b0d, b1d = S.sparse(pu, "plain+date"), S.sparse(pc, "ctx10+date")
    K = 2  # Qdrant's default RRF k

    t = Table(rs, out, True)
    t.header(f"### LoCoMo dev: the method step by step ({len(rs.queries)} questions, categories 1-4)")
    t.add("A", "BM25Okapi per-user IDF, [a-z0-9]+ tokens (README reference)", S.bm25("en", P(k1=1.5, idf="okapi", scope="user")))
    t.add("B", "e5-small dense, plain memory text (README reference)", d0)
    t.add("C", "BM25 qdrant_edge.Bm25 Multilingual + en/zh stopwords + en stemmer (+ CJK bigrams), per-user IDF", b0, "A")
    t.add("D", f"RRF k={K} (B, C)", hybrid([d0], [b0], "rrf", K), "B")
    t.add("E", f"RRF k={K} (B, C, dense ctx, BM25 ctx); ctx = previous message of the add() call + memory", hybrid([d0, d1], [b0, b1], "rrf", K), "D")
    t.add("F", "E + neighbour smoothing 0.5 over the top 50", smooth(rs, t.scores["E"]), "E")
    t.add("G", "E + session date tokens in both sparse vectors", hybrid([d0, d1], [b0d, b1d], "rrf", K), "E")
    t.add("H", "**recommended**: G + neighbour smoothing 0.5 over the top 50", smooth(rs, t.scores["G"]), "G")
    t.add("I", "cheaper: H without the dense ctx vector (one embedding per memory)", smooth(rs, hybrid([d0], [b0d, b1d], "rrf", K)), "H")
    t.add("J", "H with a shard-wide IDF over ~1000 users (simulated) instead of per-user",
          smooth(rs, hybrid([d0, d1], [S.bm25(TOK, P(scope="fleet", avg_len=16), "plain+date"),
                                     S.bm25(TOK, P(scope="fleet", avg_len=32), "ctx10+date")], "rrf", K)), "H")

    t.header("### LoCoMo dev: single components and alternatives")
    t.add("a", "BM25 k1=1.2 b=.75, [a-z0-9]+, per-user IDF", S.bm25("en", P(scope="user")))
    t.add("b", "BM25 qdrant_edge.Bm25 Multilingual, no stopwords/stemmer, per-user IDF", S.bm25("qdrant-multi", P(scope="user")))
    t.add("c", "BM25 qdrant_edge.Bm25 default (Word tokenizer, english), per-user IDF", S.bm25("qdrant-default", P(scope="user")))
    t.add("d", "BM25 (as C) on ctx text", b1)
    t.add("e", "BM25 (as C) on ctx text + date", b1d)
    for v, what in (("ctx10", "previous + memory"), ("ctx20", "2 previous + memory"),
                    ("ctx01", "memory + next"), ("ctx11", "previous + memory + next")):
        t.add(f"f-{v}", f"e5 dense on {what}", S.dense(v))
    t.add("g", "e5 dense, max(plain, ctx) per memory (multivector MAX_SIM)", S.dense_max(("plain", "ctx10")))
    t.add("h", "e5 dense, Rocchio PRF (top 3, a=0.5)", S.dense_prf("plain"))
    t.add("i", "DBSF (B, C, dense ctx, BM25 ctx) + dates", hybrid([d0, d1], [b0d, b1d], "dbsf"))
    t.add("j", "RRF k=2, 6 sources: H's 4 + dense/BM25 on (memory + next message), no smoothing",
          hybrid([d0, d1, S.dense("ctx01")], [b0d, b1d, S.bm25(TOK, pc, "ctx01+date")], "rrf", K))

    t.header("### LoCoMo dev: sensitivity of the recommended method (H), one parameter at a time")
    for k in (1, 2, 5, 10, 20, 60):
        t.add(f"k{k}", f"RRF k={k}", smooth(rs, hybrid([d0, d1], [b0d, b1d], "rrf", k)), "H")
    for g in (0.0, 0.25, 0.5, 1.0):
        t.add(f"g{g}", f"smoothing gamma={g}", smooth(rs, t.scores["G"], g), "H")
    for top in (20, 100):
        t.add(f"top{top}", f"smoothing over the top {top}", smooth(rs, t.scores["G"], 0.5, top), "H")
    for lim in (20, 50):
        t.add(f"pf{lim}", f"prefetch limit {lim} (instead of 100)",
              smooth(rs, hybrid([d0, d1], [b0d, b1d], "rrf", K, limit=lim)), "H")
    for al in (8, 256):
        t.add(f"al{al}", f"Bm25Config avg_len={al} for both sparse vectors",
              smooth(rs, hybrid([d0, d1], [S.bm25(TOK, P(scope="user", avg_len=al), "plain+date"),
                                         S.bm25(TOK, P(scope="user", avg_len=al), "ctx10+date")], "rrf", K)), "H")
    t.add("b25", "BM25 b=0.25",
          smooth(rs, hybrid([d0, d1], [S.bm25(TOK, P(scope="user", avg_len=16, b=0.25), "plain+date"),
                                     S.bm25(TOK, P(scope="user", avg_len=32, b=0.25), "ctx10+date")], "rrf", K)), "H")
    t.add("ctx20", "ctx = 2 previous messages (dense and sparse)",
          smooth(rs, hybrid([d0, S.dense("ctx20")], [b0d, S.bm25(TOK, pc, "ctx20+date")], "rrf", K)), "H")
    t.add("ctx11", "ctx = previous + memory + next (dense and sparse)",
          smooth(rs, hybrid([d0, S.dense("ctx11")], [b0d, S.bm25(TOK, pc, "ctx11+date")], "rrf", K)), "H")
    t.add("gidf", "IDF over all 5 conversations (shard-wide IDF of this dev set)",
          smooth(rs, hybrid([d0, d1], [S.bm25(TOK, P(scope="global", avg_len=16), "plain+date"),
                                     S.bm25(TOK, P(scope="global", avg_len=32), "ctx10+date")], "rrf", K)), "H")

    # the calibrated-score threshold: what the API's default 0.5 would drop
    from memory_core.embedding.calibration import E5_SMALL
    out.append("\n### LoCoMo dev: recommended ranking (H) with a threshold on the calibrated score\n")
    out.append("| score shown / thresholded | threshold | R@10 | mean results kept of 10 |")
    out.append("|---|---|---|---|")
    qv = S.qvec()
    for th in (0.0, 0.5):
        r = []
        for i, q in enumerate(rs.queries):
            cos = S.docvec("plain")[q.user] @ qv[i]
            top = [j for j in topk(cos, 10) if E5_SMALL(cos[j]) >= th]
            r.append(recall_at([rs.memories[q.user][j][0] for j in top], q.gold, 10))
        out.append(f"| dense only (B), for comparison | {th} | {100 * np.mean(r):.1f} | |")
    for name, var in (("calibrated cosine(query, memory)", ("plain",)),
                      ("calibrated max(cosine plain, cosine ctx)", ("plain", "ctx10"))):
        for th in (0.0, 0.3, 0.5):
            r, kept = [], []
            for i, (q, s) in enumerate(zip(rs.queries, t.scores["H"])):
                cos = np.max(np.stack([S.docvec(v)[q.user] @ qv[i] for v in var]), 0)
                top = [j for j in topk(s, 10 * 5) if E5_SMALL(cos[j]) >= th][:10]
                kept.append(len(top))
                r.append(recall_at([rs.memories[q.user][j][0] for j in top], q.gold, 10))
            out.append(f"| {name} | {th} | {100 * np.mean(r):.1f} | {np.mean(kept):.1f} |")
            print(out[-1], flush=True)


def run_madial(folder: str, out: list[str]) -> None:
    P = Bm25Params
    pu = P(scope="user", avg_len=16)
    for last in (False, True):
        rs = load_madial(folder, last_turn_only=last)
        S = Sources(rs)
        d0 = S.dense("plain")
        b0 = S.sparse(pu)  # qdrant_edge.Bm25 tokens + CJK character bigrams
        bq = S.bm25(TOK, pu)  # qdrant_edge.Bm25 tokens only
        t = Table(rs, out, False)
        t.header(f"### {rs.name} ({len(rs.queries)} queries, {sum(len(m) for m in rs.memories.values())} memories; "
                 "no neighbours, no dates: the recommended method reduces to RRF(dense, BM25))")
        t.add("A", "BM25Okapi per-user IDF, CJK char bigrams (README reference)", S.bm25("bigram", P(k1=1.5, idf="okapi", scope="user")))
        t.add("B", "e5-small dense (README reference)", d0)
        t.add("C", "BM25 qdrant_edge.Bm25 Multilingual + en/zh stopwords + a CJK-bigram BM25 part, per-user IDF", b0, "A")
        t.add("H", "**recommended** (as LoCoMo H; ctx = plain, no neighbours): RRF k=2 (B, B, C, C)",
              hybrid([d0, d0], [b0, S.sparse(P(scope="user", avg_len=32))], "rrf", 2), "B")
        t.add("H2", "RRF k=2 (B, C): the same with 2 sources", hybrid([d0], [b0], "rrf", 2), "H")
        t.add("Hq", "H with the sparse side from qdrant_edge.Bm25 alone (no CJK bigrams)",
              hybrid([d0, d0], [bq, S.bm25(TOK, P(scope="user", avg_len=32))], "rrf", 2), "H")
        t.add("a", "BM25 CJK char bigrams k1=1.2 b=.75", S.bm25("bigram", P(scope="user")))
        t.add("b", "BM25 CJK char unigrams+bigrams", S.bm25("unibigram", P(scope="user")))
        t.add("c", "BM25 qdrant_edge.Bm25 Multilingual, no stopwords", S.bm25("qdrant-multi", P(scope="user")))
        t.add("d", "BM25 qdrant_edge.Bm25 alone (C without the CJK-bigram part)", bq, "C")
        t.add("d2", "BM25 over qdrant_edge.Bm25 tokens and CJK bigrams as one bag", S.bm25("qdrant-multi-sw+bigram", pu), "C")
        t.add("e", "e5 dense, Rocchio PRF (top 3, a=0.5)", S.dense_prf("plain"))
        for k in (1, 5, 10, 60):
            t.add(f"k{k}", f"RRF k={k} (B, C)", hybrid([d0], [b0], "rrf", k), "H")
        t.add("dbsf", "DBSF (B, C)", hybrid([d0], [b0], "dbsf"), "H")
        t.add("bi10", "RRF k=10 (B, BM25 CJK char bigrams only)", hybrid([d0], [S.bm25("bigram", P(scope="user"))], "rrf", 10), "H")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--locomo")
    ap.add_argument("--madial")
    ap.add_argument("--out")
    a = ap.parse_args()
    out: list[str] = []
    t0 = time.time()
    if a.locomo:
        run_locomo(a.locomo, out)
    if a.madial:
        run_madial(a.madial, out)
    print(f"\n({time.time() - t0:.0f} s)", file=sys.stderr)
    if a.out:
        Path(a.out).write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
