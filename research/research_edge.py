"""The recommended retrieval method as a Qdrant Edge prototype: fidelity and latency.

    python research/research_edge.py --locomo /work/shared/data/locomo/locomo-dev.json \
                                  --madial /work/shared/data/madial-zh      # fidelity
    python research/research_edge.py --latency [--points 100000 --users 1000]  # latency

Layout per memory (one point):
- dense ""    : e5("passage: " + text)                                  (as today)
- dense "ctx" : e5("passage: " + previous message of the same add() call + "\n" + text)
                (no previous message: the text alone)
- sparse "bm25"     : sparse_document(date + "\n" + text, avg_len=16)
- sparse "bm25_ctx" : sparse_document(date + "\n" + ctx text, avg_len=32)
  = qdrant_edge.Bm25 (Multilingual tokenizer, en+zh stopwords, en stemmer) document
  vector + a BM25 part over CJK character bigrams (crc32-hashed indices); both sparse
  vectors with Modifier.Idf; date = the add() call's date ("8 May 2023"), only when the
  caller gave one.
- payload: user_id ..., "prev"/"next": ids of the neighbouring memories of the same
  add() call (for the neighbour smoothing).

Query: 4 prefetches (limit 100, user filter; sparse ones with per-user IDF
SearchParams(idf=IdfParams(corpus=<user filter>))), Fusion.Rrf(k=2), limit 50, then
client-side smoothing s'(i) = s(i) + 0.5 * max(s(prev(i)), s(next(i))) over those 50,
then the final 10's cosines (for the calibrated score) and payloads by one query_batch
restricted to their ids (cosines_of).

Fidelity runs the recipe through Edge on the dev sets (dense vectors from the
research cache); latency uses random dense vectors (a filtered exact search does
not depend on their values) and sparse vectors of real LoCoMo turns.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import qdrant_edge as qe

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from retrieval_research import (  # noqa: E402
    Sources, add_calls, evaluate, fmt_row, load_locomo, load_madial, locomo_dates)

RRF_K = 2
PREFETCH = 100
FUSED = 50
SMOOTH = 0.5


def bm25_model(avg_len: float) -> qe.Bm25:
    return qe.Bm25(qe.Bm25Config(
        avg_len=avg_len,
        tokenizer=qe.TokenizerType.Multilingual,
        stopwords=qe.StopwordsSet(languages={qe.Language.English, qe.Language.Chinese}),
        stemmer=qe.SnowballParams(qe.SnowballLanguage.English)))


BM25_PLAIN, BM25_CTX = bm25_model(16), bm25_model(32)

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK_RUN = re.compile(f"[{_CJK}]{{2,}}")


def cjk_bigrams(text: str) -> list[str]:
    return [run[i:i + 2] for run in _CJK_RUN.findall(text.lower()) for i in range(len(run) - 1)]


def _bigram_index(bigram: str) -> int:
    # stable across processes (never Python's salted hash()); a separate namespace prefix
    return zlib.crc32(("cjk2\x00" + bigram).encode("utf-8"))


def sparse_document(text: str, model: qe.Bm25, avg_len: float, k1: float = 1.2, b: float = 0.75) -> qe.SparseVector:
    """qdrant_edge.Bm25's document vector plus a BM25 part over CJK character bigrams."""
    v = model.embed_document(text)
    w = dict(zip(v.indices, v.values))
    bg = Counter(cjk_bigrams(text))
    n = sum(bg.values())
    for t, tf in bg.items():
        i = _bigram_index(t)
        w[i] = w.get(i, 0.0) + tf * (k1 + 1) / (tf + k1 * (1 - b + b * n / avg_len))
    return qe.SparseVector(indices=list(w), values=list(w.values()))


def sparse_query(text: str, model: qe.Bm25 = None) -> qe.SparseVector:
    v = (model or BM25_PLAIN).embed_query(text)
    w = dict(zip(v.indices, v.values))
    for t in set(cjk_bigrams(text)):
        w[_bigram_index(t)] = 1.0
    return qe.SparseVector(indices=list(w), values=list(w.values()))


def open_shard(path: str, dims: int = 384, threads: int = 1) -> qe.EdgeShard:
    cfg = qe.EdgeConfig(
        vectors={"": qe.EdgeVectorParams(size=dims, distance=qe.Distance.Cosine),
                 "ctx": qe.EdgeVectorParams(size=dims, distance=qe.Distance.Cosine)},
        sparse_vectors={"bm25": qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf),
                        "bm25_ctx": qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        optimizers=qe.EdgeOptimizersConfig(indexing_threshold=0),
        max_search_threads=threads)
    s = qe.EdgeShard.create(path, cfg)
    s.update(qe.UpdateOperation.create_field_index("user_id", qe.KeywordIndexParams()))
    return s


def user_filter(user: str) -> qe.Filter:
    return qe.Filter(must=[qe.FieldCondition("user_id", match=qe.MatchValue(user))])


def hybrid_request(qvec: list[float], qsparse: qe.SparseVector, flt: qe.Filter, *, limit: int = FUSED,
                   per_user_idf: bool = True, sources: str = "dense,ctx,bm25,bm25_ctx",
                   prefetch: int = PREFETCH, with_vector=False) -> qe.QueryRequest:
    params = qe.SearchParams(idf=qe.IdfParams(corpus=flt)) if per_user_idf else None
    pf = []
    for s in sources.split(","):
        if s == "dense":
            pf.append(qe.Prefetch(limit=prefetch, query=qe.Query.Nearest(qvec), filter=flt))
        elif s == "ctx":
            pf.append(qe.Prefetch(limit=prefetch, query=qe.Query.Nearest(qvec, using="ctx"), filter=flt))
        else:
            pf.append(qe.Prefetch(limit=prefetch, query=qe.Query.Nearest(qsparse, using=s), filter=flt,
                                  params=params))
    return qe.QueryRequest(limit=limit, prefetches=pf, query=qe.Fusion.Rrf(k=RRF_K), filter=flt,
                           with_payload=qe.PayloadSelector.Include(["prev", "next"]), with_vector=with_vector)


def smooth(hits, limit: int, gamma: float = SMOOTH) -> list:
    """Neighbour smoothing over the fused candidates: s + gamma * max(s(prev), s(next))."""
    score = {h.id: h.score for h in hits}
    out = []
    for h in hits:
        p = h.payload or {}
        nb = max(score.get(p.get("prev"), 0.0), score.get(p.get("next"), 0.0))
        out.append((h.score + gamma * nb, h))
    out.sort(key=lambda x: -x[0])
    return [h for _, h in out[:limit]]


def cosines_of(shard: qe.EdgeShard, qvec: list[float], ids: list) -> dict:
    """max(cosine plain, cosine ctx) of the given points, computed by Qdrant (no vectors copied);
    the plain request also brings the final points' payloads."""
    only = qe.Filter(must=[qe.HasIdCondition(set(ids))])
    plain, ctx = shard.query_batch(qe.QueryBatchRequest([
        qe.QueryRequest(limit=len(ids), query=qe.Query.Nearest(qvec), filter=only, with_payload=True),
        qe.QueryRequest(limit=len(ids), query=qe.Query.Nearest(qvec, using="ctx"), filter=only, with_payload=False)]))
    out = {h.id: h.score for h in plain}
    for h in ctx:
        out[h.id] = max(out.get(h.id, -1.0), h.score)
    return out


# ----------------------------------------------------------------------------
# Fidelity: the recipe run by Edge on the two sets
# ----------------------------------------------------------------------------

def fidelity(rs, S: Sources, dates: bool) -> None:
    tmp = tempfile.mkdtemp()
    shard = open_shard(tmp)
    calls = add_calls(rs)
    plain, ctxv = S.docvec("plain"), S.docvec("ctx10")
    ptexts, ctexts = S.doc_texts("plain"), S.doc_texts("ctx10")
    pid = {}
    n = 0
    for u in S.users:
        for i in range(len(rs.memories[u])):
            pid[(u, i)] = n
            n += 1
    t0 = time.time()
    for u in S.users:
        prev, nxt = {}, {}
        for c in calls[u]:
            for j in range(len(c)):
                if j:
                    prev[c[j]] = pid[(u, c[j - 1])]
                if j + 1 < len(c):
                    nxt[c[j]] = pid[(u, c[j + 1])]
        pts = []
        for i, (key, _) in enumerate(rs.memories[u]):
            d = (S.date_of(key) + "\n") if dates else ""
            payload = {"user_id": u, "key": key}
            if i in prev:
                payload["prev"] = prev[i]
            if i in nxt:
                payload["next"] = nxt[i]
            pts.append(qe.Point(pid[(u, i)], {
                "": plain[u][i].tolist(), "ctx": ctxv[u][i].tolist(),
                "bm25": sparse_document(d + ptexts[u][i], BM25_PLAIN, 16),
                "bm25_ctx": sparse_document(d + ctexts[u][i], BM25_CTX, 32)}, payload))
        for j in range(0, len(pts), 256):
            shard.update(qe.UpdateOperation.upsert_points(pts[j:j + 256]))
    print(f"  indexed {n} points in {time.time() - t0:.1f}s", flush=True)
    qv = S.qvec()
    index = {u: {pid[(u, i)]: i for i in range(len(rs.memories[u]))} for u in S.users}
    variants = {
        "Edge: RRF(dense, ctx, bm25, bm25_ctx), per-user IDF": dict(sm=False),
        "Edge: same + neighbour smoothing (0.5, top 50)": dict(sm=True),
        "Edge: same, shard-wide IDF + smoothing": dict(sm=True, per_user_idf=False),
        "Edge: RRF(dense, bm25) only, per-user IDF": dict(sm=False, sources="dense,bm25"),
    }
    for name, kw in variants.items():
        sm = kw.pop("sm")
        scores = []
        for qi, q in enumerate(rs.queries):
            flt = user_filter(q.user)
            hits = shard.query(hybrid_request(qv[qi].tolist(), sparse_query(q.text), flt, **kw))
            if sm:
                hits = smooth(hits, 10)
            s = np.full(len(rs.memories[q.user]), -1e9)
            for r, h in enumerate(hits[:10]):
                s[index[q.user][h.id]] = 100 - r
            scores.append(s)
        print(fmt_row(name, evaluate(rs, scores), rs.session_of != {}), flush=True)
        kw["sm"] = sm
    shard.close()
    shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------
# Latency at 100k points over 1000 users
# ----------------------------------------------------------------------------

def latency(points: int, users: int, locomo: str | None, n_queries: int = 500, threads: int = 1) -> None:
    rng = np.random.default_rng(0)
    texts = ["I went to a support group yesterday and it was so powerful.",
             "我今天拿到了数学考试的满分！真的超级开心！", "We love painting together lately, especially nature."]
    questions = ["When did Caroline go to the support group?", "What did Mel paint?", "数学考试"]
    if locomo:
        rs = load_locomo(locomo)
        texts = [t for m in rs.memories.values() for _, t in m]
        questions = [q.text for q in rs.queries]
    tmp = tempfile.mkdtemp()
    shard = open_shard(tmp, threads=threads)
    t0 = time.time()
    per = points // users
    dates = ["8 May 2023", "25 December 2023", "1 February 2024"]
    sp_plain = [sparse_document(dates[i % 3] + "\n" + t, BM25_PLAIN, 16) for i, t in enumerate(texts)]
    sp_ctx = [sparse_document(dates[i % 3] + "\n" + texts[i - 1] + "\n" + t, BM25_CTX, 32)
              for i, t in enumerate(texts)]
    tt = time.time() - t0
    print(f"sparse embedding of documents: {tt / len(texts) / 2 * 1e3:.3f} ms per text")
    batch = []
    for n in range(points):
        u = f"user{n // per}"
        j = int(rng.integers(len(texts)))
        v = rng.normal(size=(2, 384)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        payload = {"user_id": u}
        if n % per:
            payload["prev"] = n - 1
        if (n + 1) % per:
            payload["next"] = n + 1
        batch.append(qe.Point(n, {"": v[0].tolist(), "ctx": v[1].tolist(), "bm25": sp_plain[j],
                                  "bm25_ctx": sp_ctx[j]}, payload))
        if len(batch) == 1000:
            shard.update(qe.UpdateOperation.upsert_points(batch))
            batch = []
    if batch:
        shard.update(qe.UpdateOperation.upsert_points(batch))
    shard.flush()
    print(f"built {points} points / {users} users in {time.time() - t0:.0f}s", flush=True)

    t = time.time()
    shard.optimize()
    print(f"optimize (merge segments, no vector index): {time.time() - t:.1f}s", flush=True)
    qvs = rng.normal(size=(64, 384)).astype(np.float32)
    qvs /= np.linalg.norm(qvs, axis=1, keepdims=True)
    qsp = [sparse_query(questions[i % len(questions)]) for i in range(64)]
    t = time.perf_counter()
    for qq in questions[:200]:
        sparse_query(qq)
    print(f"sparse embedding of a query: {(time.perf_counter() - t) / min(200, len(questions)) * 1e3:.3f} ms")

    variants = {
        "dense only (today), limit 10": lambda u, i: qe.QueryRequest(
            limit=10, query=qe.Query.Nearest(qvs[i % 64].tolist()), filter=user_filter(u), with_payload=True),
        "RRF dense+bm25, per-user IDF, limit 10": lambda u, i: hybrid_request(
            qvs[i % 64].tolist(), qsp[i % 64], user_filter(u), limit=10, sources="dense,bm25"),
        "RRF dense+ctx+bm25+bm25_ctx, shard-wide IDF, limit 10": lambda u, i: hybrid_request(
            qvs[i % 64].tolist(), qsp[i % 64], user_filter(u), limit=10, per_user_idf=False),
        "RRF dense+ctx+bm25+bm25_ctx, per-user IDF, limit 10": lambda u, i: hybrid_request(
            qvs[i % 64].tolist(), qsp[i % 64], user_filter(u), limit=10),
        "RRF 4 sources, per-user IDF, limit 50 + smoothing (recommended)": lambda u, i: hybrid_request(
            qvs[i % 64].tolist(), qsp[i % 64], user_filter(u), limit=50),
        "RRF 4 sources, per-user IDF, prefetch 50, limit 50 + smoothing": lambda u, i: hybrid_request(
            qvs[i % 64].tolist(), qsp[i % 64], user_filter(u), limit=50, prefetch=50),
        "recommended + both dense vectors returned, smoothing + cosines": lambda u, i: hybrid_request(
            qvs[i % 64].tolist(), qsp[i % 64], user_filter(u), limit=50, with_vector=["", "ctx"]),
        "recommended, smoothing, then retrieve the final 10 with vectors + cosines": lambda u, i: hybrid_request(
            qvs[i % 64].tolist(), qsp[i % 64], user_filter(u), limit=50),
        "recommended, smoothing, then cosines of the final 10 by a HasId query_batch": lambda u, i: hybrid_request(
            qvs[i % 64].tolist(), qsp[i % 64], user_filter(u), limit=50),
    }
    times = {k: [] for k in variants}
    for i in range(n_queries + 20):  # interleaved: every variant sees the same user, query and load
        u = f"user{int(rng.integers(users))}"
        for name, make in variants.items():
            req = make(u, i)
            t = time.perf_counter()
            hits = shard.query(req)
            if "smoothing" in name:
                top = smooth(hits, 10)
                if "cosines" in name:  # the calibrated score: max cosine over the two dense vectors
                    q = qvs[i % 64]
                    if "HasId" in name:
                        cosines_of(shard, q.tolist(), [h.id for h in top])
                    else:
                        if "retrieve" in name:
                            top = shard.retrieve([h.id for h in top], with_payload=True, with_vector=["", "ctx"])
                        [max(float(np.dot(q, h.vector[""])), float(np.dot(q, h.vector["ctx"]))) for h in top]
            if i >= 20:
                times[name].append((time.perf_counter() - t) * 1000)
    print(f"\n| query ({points} points, {users} users, {per}/user, search threads {threads}, "
          f"{n_queries} queries) | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|")
    for name, ts in times.items():
        print(f"| {name} | {np.percentile(ts, 50):.2f} | {np.percentile(ts, 95):.2f} | {np.percentile(ts, 99):.2f} |")
    shard.close()
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--locomo")
    ap.add_argument("--madial")
    ap.add_argument("--latency", action="store_true")
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--queries", type=int, default=1000)
    a = ap.parse_args()
    if a.latency:
        latency(a.points, a.users, a.locomo, n_queries=a.queries, threads=a.threads)
        return
    if a.locomo:
        rs = load_locomo(a.locomo)
        S = Sources(rs)
        S.dates = locomo_dates(a.locomo)
        for dates in (False, True):
            print(f"\nLoCoMo, date tokens {'on' if dates else 'off'}")
            fidelity(rs, S, dates)
    if a.madial:
        for last in (False, True):
            rs = load_madial(a.madial, last_turn_only=last)
            print(f"\n{rs.name}")
            fidelity(rs, Sources(rs), False)


if __name__ == "__main__":
    main()
