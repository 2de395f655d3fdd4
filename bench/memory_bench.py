"""Benchmark of the memory engine (memory_core), printing figures as it goes.

    python -m bench.memory_bench                       # everything that needs no data
    python -m bench.memory_bench --locomo ../shared/data/locomo/locomo-dev.json \
                                 --madial ../shared/data/madial-zh
    python -m bench.memory_bench --only embed,search --sizes 1000,10000
    python -m bench.memory_bench --only none --locomo ../shared/data/locomo/locomo-dev.json \
                                 --protocols session --stores embedded,pgvector
    python -m bench.memory_bench --only search --sizes 100000 --stores pgvector --database-url postgresql://...
    python -m bench.memory_bench --only none --madial ../shared/data/madial-zh --inject --inject-queries 20 \
                                 --json /tmp/figures.json

Sections: query-embedding latency and batch throughput; add(infer=False)
throughput; search p50/p95 at several store sizes spread over 1,000 users (query
embedding excluded); retrieval quality on LoCoMo and MADial-zh when given their paths.

Retrieval quality, on each half of each set (users split by ``halves()``: a tuning half,
a check half), for each LoCoMo add protocol (``--protocols``) and each MADial query form
(whole dialogue; last user turn; last user turn with the earlier user turns as the
search's context, as the proxy searches):
  - R@5, R@10 (and LoCoMo's session any@5, R@10 by category) at threshold 0;
  - the same searches at the config's default threshold: memories returned per query,
    precision (share of returned memories that are gold: micro, and mean over queries
    that returned any), R@10 and its share of the threshold-0 R@10 ("kept"), queries
    returning nothing, against issue 10's target (precision >= 0.5 while kept >= 90%);
  - "never mentioned" probes (retrieval_sets.PROBES_EN for LoCoMo's users, PROBES_ZH for
    MADial's), asked at the default threshold: share returning nothing, mean returned,
    and the top memory of the three highest-scoring probes, for a reader to judge;
then a markdown table per set. ``--inject`` (with --locomo/--madial) also measures what
a live ``memproxy serve`` injects through its chat API (bench/injection_bench.py, on the
embedded store, ``--inject-queries`` chats per half). ``--json PATH`` writes every
quality and injection figure there.

``--stores`` runs the search and quality sections on each store named: ``embedded``
(Qdrant Edge + SQLite history in a temporary data directory) and ``pgvector`` (the
shared-state mode: ``database_url``, vectors and history in PostgreSQL, a fresh table
per run) on ``--database-url``, or on a PostgreSQL started from the pgserver wheel in a
temporary folder (shared_buffers 1GB) when no URL is given. With both, documents are embedded once and the
vectors reused for the second store, so the stores see identical input.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml


from bench.embedding_cache import CachedEmbedder
from memory_core import Memory
from memory_core.embedding import create_embedder
from memory_core.embedding.base import query_scorer
from memory_core.embedding.config import EmbedderConfig

ZH = ["我是谁？", "我喜欢吃什么？", "周末有什么安排", "我的孩子叫什么名字", "推荐一些四川美食",
      "我住在哪里", "我对什么过敏", "明天的会议几点", "我的生日是哪天", "我最喜欢的电影"]
EN = ["what is my name?", "what food do I like?", "plans for the weekend", "my kids' names",
      "recommend a restaurant", "where do I live", "what am I allergic to", "when is the meeting",
      "when is my birthday", "favourite movie"]


IDF = "scope"  # --idf
DATABASE_URL: str | None = None  # --database-url, or the temporary pgserver's


def store_config(store: str, data_dir: str) -> dict:
    """The Memory config of one run on ``store`` (a fresh table per pgvector run)."""
    if store == "embedded":
        return {"data_dir": data_dir}
    import uuid

    return {"data_dir": data_dir, "database_url": DATABASE_URL,
            "vector_store": {"collection": f"bench_{uuid.uuid4().hex[:12]}"}}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def log(msg: str) -> None:
    print(msg, flush=True)


def bench_embed(embedder) -> None:
    log("\n## Query embedding (single query per call, uncached)")
    for name, texts in (("zh", ZH), ("en", EN)):
        for t in texts[:3]:
            embedder.embed_queries([t])  # warm-up
        times = []
        for i in range(200):
            t = f"{texts[i % len(texts)]} {i}"  # unique text: nothing can be cached
            t0 = time.perf_counter()
            embedder.embed_queries([t])
            times.append((time.perf_counter() - t0) * 1000)
        log(f"{name}: p50 {pct(times, 50):.2f} ms  p95 {pct(times, 95):.2f} ms  (n=200)")
    docs = [f"{ZH[i % 10]}，这是第{i}条记忆，内容关于日常生活。" if i % 2 else
            f"Memory number {i}: {EN[i % 10]} and some more words about daily life."
            for i in range(512)]
    t0 = time.perf_counter()
    for i in range(0, len(docs), 32):
        embedder.embed_documents(docs[i:i + 32])
    dt = time.perf_counter() - t0
    log(f"batch: {len(docs) / dt:.0f} documents/s (batches of 32, mixed zh/en, ~20 tokens)")


def bench_add(embedder, n: int = 300) -> None:
    log(f"\n## add(infer=False) throughput ({n} single adds, then batches of 20)")
    with tempfile.TemporaryDirectory() as d, Memory({"data_dir": d}, embedder=embedder) as m:
        t0 = time.perf_counter()
        for i in range(n):
            m.add(f"fact {i}: {EN[i % 10]} {ZH[i % 10]}", user_id=f"u{i % 50}", infer=False)
        dt = time.perf_counter() - t0
        log(f"single: {n / dt:.0f} adds/s ({dt / n * 1000:.1f} ms each)")
        t0 = time.perf_counter()
        for b in range(n // 20):
            msgs = [{"role": "user", "content": f"batch {b} fact {j}: {EN[j % 10]}"}
                    for j in range(20)]
            m.add(msgs, user_id=f"b{b}", infer=False)
        dt = time.perf_counter() - t0
        log(f"batched: {(n // 20) * 20 / dt:.0f} memories/s")


class PrecomputedQueries:
    """The real embedder's vectors for a fixed set of queries, looked up instead of
    computed: the search figures then exclude embedding, as the target is stated."""

    def __init__(self, embedder, queries: list[str]) -> None:
        self.name, self.dims = embedder.name, embedder.dims
        self._real = embedder
        self._vectors = dict(zip(queries, embedder.embed_queries(queries)))
        self.live = False  # True: embed every query for real (the end-to-end figure)

    def embed_queries(self, texts):
        if self.live:
            return self._real.embed_queries(texts)
        return np.stack([self._vectors[t] for t in texts])

    def embed_documents(self, texts):
        return self._real.embed_documents(texts)

    def score(self, cosine):
        return self._real.score(cosine)

    def scorer(self, query_vector):
        return query_scorer(self._real, query_vector)

    def follows(self, query_vector, earlier_vector):
        return self._real.follows(query_vector, earlier_vector)


def bench_search(embedder, sizes: list[int], users: int = 1000, n_queries: int = 500,
                 store: str = "embedded") -> None:
    log(f"\n## search p50/p95 on {store}, top-10 within one user, {users} users, query embedding excluded, "
        f"BM25 IDF per {IDF}")
    queries = ZH + EN
    pool_texts = [f"{ZH[i % 10]} {EN[(i * 7) % 10]} #{i}" for i in range(400)]
    pool = embedder.embed_documents(pool_texts)
    # The sparse (BM25) vectors memories carry, so the hybrid search has real terms to match.
    from memory_core.vector_store import Vectors
    from memory_core.vector_store.sparse import sparse_document
    pool_sparse = [sparse_document(t) for t in pool_texts]
    pool_ctx = [sparse_document(pool_texts[k - 1] + "\n" + t, 32) for k, t in enumerate(pool_texts)]
    rng = np.random.default_rng(0)
    fast = PrecomputedQueries(embedder, queries)
    for size in sizes:
        cfg = store_config(store, "")
        with tempfile.TemporaryDirectory() as d, Memory({**cfg, "data_dir": d, "vector_store": {
                **cfg.get("vector_store", {}), "idf": IDF}}, embedder=fast) as m:
            t0 = time.perf_counter()
            step = 2000
            for start in range(0, size, step):
                n = min(step, size - start)
                picks = rng.integers(0, len(pool), n)
                base = pool[picks]
                vecs = base + rng.normal(0, 0.03, base.shape).astype(np.float32)
                vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
                points = []
                for j in range(n):
                    i = start + j
                    payload = {"tenant": "default", "user_id": f"user{i % users}", "agent_id": None,
                               "run_id": None, "memory": f"memory {i}", "hash": f"{i:032x}",
                               "role": "user", "tags": [], "metadata": {},
                               "created_at": "2026-01-01T00:00:00.000000Z",
                               "updated_at": "2026-01-01T00:00:00.000000Z", "created_ts": i}
                    k = int(picks[j])
                    points.append((str(__import__("uuid").uuid4()),
                                   Vectors(vecs[j], vecs[j], pool_sparse[k], pool_ctx[k]), payload))
                m._store.upsert(points)
                if size >= 50_000 and (start // step) % 10 == 0:
                    log(f"  loading {start + n}/{size} ...")
            load_s = time.perf_counter() - t0
            for q in queries:
                m.search(q, user_id="user1", threshold=0.0)
            times = []
            for i in range(n_queries):
                q = queries[i % len(queries)]
                user = f"user{random.randrange(users)}"
                t0 = time.perf_counter()
                m.search(q, user_id=user, threshold=0.0)
                times.append((time.perf_counter() - t0) * 1000)
            log(f"{size:>7} memories: p50 {pct(times, 50):.2f} ms  p95 {pct(times, 95):.2f} ms"
                f"  (Memory.search, n={n_queries}; loaded in {load_s:.1f} s; RSS {rss_mb():.0f} MB)")
            fast.live, times = True, []
            for i in range(n_queries):
                q = f"{queries[i % len(queries)]} {i}"  # unique: nothing can be cached
                user = f"user{random.randrange(users)}"
                t0 = time.perf_counter()
                m.search(q, user_id=user, threshold=0.0)
                times.append((time.perf_counter() - t0) * 1000)
            log(f"{size:>7} memories, query embedding included: p50 {pct(times, 50):.2f} ms  "
                f"p95 {pct(times, 95):.2f} ms  ({size // users} memories per user)")
            # A chat message with the two user messages before it as context (what the proxy
            # searches), timed in turn with a message alone: the earlier ones were searched
            # just before (their vectors are cached, as in a chat), or never.
            timed: dict[str, list[float]] = {"alone": [], "cached": [], "not cached": []}
            for i in range(n_queries // 5):
                user = f"user{random.randrange(users)}"
                said = [f"{queries[(i + k) % len(queries)]} {i}-{k}" for k in range(3)]
                for k in range(2):
                    m.search(said[k], user_id=user, threshold=0.0, context=said[:k])
                for name, text, context in (("alone", said[2] + " ?", None), ("cached", said[2], said[:2]),
                                            ("not cached", said[2] + " !", [t + " !" for t in said[:2]])):
                    t0 = time.perf_counter()
                    m.search(text, user_id=user, threshold=0.0, context=context)
                    timed[name].append((time.perf_counter() - t0) * 1000)
            log(f"{size:>7} memories, a message with 2 earlier messages as context: " + "; ".join(
                f"{name} p50 {pct(t, 50):.2f} ms p95 {pct(t, 95):.2f} ms" for name, t in timed.items()))
            fast.live = False
            if store != "embedded":
                m.reset()


def halves(rs):
    """The set split by conversation (LoCoMo) or character: users in sorted order,
    alternately into a tuning half and a check half (a set of one user: its queries). Settings are chosen on the
    tuning half only; both are reported."""
    from bench.retrieval_sets import RetrievalSet

    users = sorted(rs.memories)
    if len(users) < 2:  # MADial's dev split is one character: its queries alternate instead
        return {name: RetrievalSet(rs.name, rs.memories, rs.queries[start::2], rs.session_of, rs.date_of)
                for name, start in (("tune", 0), ("check", 1))}
    out = {}
    for name, picked in (("tune", set(users[0::2])), ("check", set(users[1::2]))):
        out[name] = RetrievalSet(f"{rs.name}", {u: rs.memories[u] for u in users if u in picked},
                                 [q for q in rs.queries if q.user in picked], rs.session_of, rs.date_of)
    return out


def add_calls(rs, items, protocol: str) -> list[list[tuple[str, str]]]:
    """How the memories of one user are added: ``session`` = one add() per conversation
    session (at most 64 turns, as a batch import does); ``message`` = one add() per
    message, as the proxy stores a chat while it happens."""
    calls: list[list[tuple[str, str]]] = []
    for key, text in items:
        sess = rs.session_of.get(key)
        if protocol == "session" and calls and sess is not None \
                and rs.session_of.get(calls[-1][-1][0]) == sess and len(calls[-1]) < 64:
            calls[-1].append((key, text))
        else:
            calls.append([(key, text)])
    return calls


MEMORY_SETTINGS: dict = {}  # memory config of the quality runs (--memory, --turn-context-seconds)


def store_set(m: Memory, rs, protocol: str) -> dict[str, list[str]]:
    """Add every memory of ``rs`` to ``m``; return memory id -> the set's keys."""
    keys_of: dict[str, list[str]] = {}
    t0 = time.perf_counter()
    done = 0
    total = sum(len(v) for v in rs.memories.values())
    for user, items in rs.memories.items():
        for chunk in add_calls(rs, items, protocol):
            session = rs.session_of.get(chunk[0][0])
            # Conversation turns go in as messages (with the session's date); a memory
            # with no conversation (MADial's events) as a plain text, a fact on its own.
            content = ([{"role": "user", "content": text} for _, text in chunk] if session is not None
                       else chunk[0][1])
            out = m.add(content, user_id=user, infer=False, timestamp=rs.date_of.get(session or ""),
                        continues=protocol == "message")["results"]
            for (key, _), r in zip(chunk, out):
                keys_of.setdefault(r["id"], []).append(key)
            done += len(chunk)
        log(f"  stored {done}/{total} memories ({time.perf_counter() - t0:.0f} s)")
    return keys_of


def ranked_keys(results: list[dict], keys_of: dict[str, list[str]]) -> list[str]:
    """The set's keys of search results, in rank order."""
    return [k for r in results for k in keys_of[r["id"]]]


def gold_count(ids: list[str], keys_of: dict[str, list[str]], gold: set[str]) -> int:
    """How many of the memories ``ids`` are gold (hold a gold key of the set)."""
    return sum(1 for i in ids if gold.intersection(keys_of.get(i, ())))


# Issue 10's target at the default threshold: precision (micro) at least this while R@10
# keeps at least this share of the threshold-0 R@10.
PRECISION_TARGET, KEPT_TARGET = 0.5, 0.9


def verdict(value: float, target: float) -> str:
    return "met" if value >= target else "missed"


def threshold_figures(rows: list[tuple[int, int, float]], recall_zero: float, scale: float) -> dict[str, float]:
    """Figures at the default threshold from (returned, gold among them, R@10) per query;
    ``recall_zero`` is the threshold-0 R@10 (scaled by ``scale``, as it is printed)."""
    returned = sum(n for n, _, _ in rows)
    answered = [(n, g) for n, g, _ in rows if n]
    recall = statistics.mean(r for _, _, r in rows) * scale
    kept = recall / recall_zero if recall_zero else 0.0
    micro = sum(g for _, g, _ in rows) / returned if returned else 0.0
    return {"returned per query": returned / len(rows), "precision (micro)": micro,
            "precision (mean over queries with any)": statistics.mean(g / n for n, g in answered) if answered else 0.0,
            "R@10": recall, "kept": kept, "queries with none": 1 - len(answered) / len(rows),
            "target met": micro >= PRECISION_TARGET and kept >= KEPT_TARGET}


def log_threshold(f: dict[str, float], threshold: float) -> None:
    log(f"  default threshold {threshold:g}: returned per query {f['returned per query']:.2f}, "
        f"precision {f['precision (micro)']:.2f} micro (target >= {PRECISION_TARGET}: "
        f"{verdict(f['precision (micro)'], PRECISION_TARGET)}), "
        f"{f['precision (mean over queries with any)']:.2f} mean over queries with any; "
        f"R@10 {f['R@10']:.3g} = {f['kept']:.0%} of threshold 0 kept (target >= {KEPT_TARGET:.0%}: "
        f"{verdict(f['kept'], KEPT_TARGET)}); queries with none {f['queries with none']:.0%}")


def probe_figures(m: Memory, users: list[str], probes: list[str], shown: int = 3) -> dict:
    """Each never-mentioned probe asked of each user at the default threshold: the share
    that returned nothing, the mean returned, and the top memory of the ``shown`` probes
    whose top score is highest, for a reader to judge."""
    counts, hits = [], []
    for user in users:
        for probe in probes:
            res = m.search(probe, user_id=user, limit=10)["results"]
            counts.append(len(res))
            if res:
                hits.append({"probe": probe, "user": user, "returned": len(res), "score": res[0]["score"],
                             "memory": res[0]["memory"]})
    hits.sort(key=lambda h: -h["score"])
    figures = {"probes": len(counts), "with nothing": counts.count(0) / len(counts),
               "returned per probe": statistics.mean(counts), "examples": hits[:shown]}
    log(f"  never-mentioned probes ({len(probes)} x {len(users)} user(s)): nothing returned "
        f"{figures['with nothing']:.0%}, returned per probe {figures['returned per probe']:.2f}")
    for h in figures["examples"]:
        log(f"    {h['probe']!r} ({h['user']}, {h['returned']} returned) -> top {h['score']:.3f} "
            f"{h['memory'][:120]!r}")
    return figures


# MADial's query forms: the whole dialogue as one text; its last user turn alone, as the
# set gives it; and the last user turn as a chat sends it, with the user's earlier turns
# as the search's context (what the proxy does).
MADIAL_FORMS = {"whole dialogue": {}, "last user turn": {"last_turn_only": True},
                "last user turn in context": {"in_context": True}}


def bench_quality(embedder, retrieval_set, protocol: str = "session", label: str = "",
                  ks=(5, 10), store: str = "embedded") -> dict:
    """R@k at threshold 0 (and by category), figures at the default threshold, and the
    never-mentioned probes, on ``retrieval_set`` stored by ``protocol``."""
    from bench.retrieval_sets import probes_for, recall_at, session_any_at

    rs = retrieval_set
    k_max = max(ks)
    log(f"\n## Retrieval quality on {store}: {rs.name} {label}, one add() per {protocol} "
        f"({len(rs.memories)} users, {len(rs.queries)} queries)")
    with tempfile.TemporaryDirectory() as d, \
            Memory({**store_config(store, d), **MEMORY_SETTINGS}, embedder=embedder) as m:
        keys_of = store_set(m, rs, protocol)
        sums: dict[str, list[float]] = {}
        by_cat: dict[int, list[float]] = {}
        at_default: list[tuple[int, int, float]] = []
        for i, q in enumerate(rs.queries):
            context = q.context or None  # the chat's earlier user messages, where the set has them
            ranked = ranked_keys(m.search(q.text, user_id=q.user, limit=k_max, threshold=0.0,
                                          context=context)["results"], keys_of)
            for k in ks:
                sums.setdefault(f"R@{k}", []).append(recall_at(ranked, q.gold, k))
            if q.gold_sessions:
                sums.setdefault("session any@5", []).append(
                    session_any_at(ranked, q, rs.session_of, 5))
            if q.category is not None:
                by_cat.setdefault(q.category, []).append(recall_at(ranked, q.gold, k_max))
            res = m.search(q.text, user_id=q.user, limit=k_max, context=context)["results"]  # the config's threshold
            ids = [r["id"] for r in res]
            at_default.append((len(ids), gold_count(ids, keys_of, q.gold),
                               recall_at(ranked_keys(res, keys_of), q.gold, k_max)))
            if (i + 1) % 200 == 0:
                log(f"  searched {i + 1}/{len(rs.queries)}")
        scale = 100 if rs.name == "locomo" else 1
        figures = {name: statistics.mean(v) * scale for name, v in sums.items()}
        log("  " + "  ".join(f"{n} {v:.3g}" for n, v in figures.items()))
        categories = {c: statistics.mean(v) * 100 for c, v in sorted(by_cat.items())}
        if by_cat:
            log(f"  R@{k_max} by category: " + "  ".join(
                f"{c}: {categories[c]:.1f} (n={len(by_cat[c])})" for c in categories))
        threshold = threshold_figures(at_default, figures[f"R@{k_max}"], scale)
        log_threshold(threshold, m.config.search.threshold)
        probes = probe_figures(m, sorted(rs.memories), probes_for(rs))
        if store != "embedded":
            m.reset()
        return {"users": len(rs.memories), "queries": len(rs.queries), "recall": figures,
                f"R@{k_max} by category": categories, "default threshold": threshold, "probes": probes}


def print_summary(records: list[dict], with_store: bool) -> None:
    """One markdown table per set of the quality runs."""
    for name in dict.fromkeys(r["set"] for r in records):
        log(f"\n### {name}\n\n| half | protocol / query form | R@5 | R@10 | returned per query | "
            f"precision (micro) | R@10 at default threshold | kept | probes with nothing |\n"
            f"|---|---|---|---|---|---|---|---|---|")
        for r in (r for r in records if r["set"] == name):
            form = f"{r['form']} ({r['store']})" if with_store else r["form"]
            t = r["default threshold"]
            log(f"| {r['half']} | {form} | {r['recall']['R@5']:.3g} | {r['recall']['R@10']:.3g} | "
                f"{t['returned per query']:.2f} | {t['precision (micro)']:.2f} | {t['R@10']:.3g} | {t['kept']:.0%} | "
                f"{r['probes']['with nothing']:.0%} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="embed,add,search",
                    help="comma-separated sections: embed, add, search (quality runs when a path is given)")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--users", type=int, default=1000,
                    help="users the search section spreads its memories over (--users 1 --sizes 10000: "
                         "one user with 10,000 memories)")
    ap.add_argument("--embedder", default="e5-offline", help="embedder provider (e5-offline, minilm-offline)")
    ap.add_argument("--locomo", help="path to locomo-dev.json")
    ap.add_argument("--madial", help="folder with dev-memories.jsonl and dev-queries.jsonl")
    ap.add_argument("--turn-context-seconds", type=float,
                    help="memory.turn_context_seconds for the quality runs (0: a message added alone has no context)")
    ap.add_argument("--memory", action="append", default=[], metavar="KEY=VALUE",
                    help="a MemoryConfig setting for the quality runs, the value in YAML (repeatable), e.g. "
                         "--memory 'search={context_weight: 0}'")
    ap.add_argument("--halves", default="tune,check", help="LoCoMo halves to run: tune, check")
    ap.add_argument("--protocols", default="session,message",
                    help="LoCoMo add protocols: session (one add() per session), message (one per message)")
    ap.add_argument("--idf", default="scope", choices=["scope", "collection"],
                    help="vector_store.idf for the search section")
    ap.add_argument("--stores", default="embedded",
                    help="comma-separated: embedded (Edge + SQLite), pgvector (PostgreSQL, the shared-state mode)")
    ap.add_argument("--database-url", help="PostgreSQL for --stores pgvector (default: a temporary pgserver)")
    ap.add_argument("--inject", action="store_true",
                    help="with --locomo/--madial: also measure what memproxy serve injects (bench/injection_bench.py)")
    ap.add_argument("--inject-queries", type=int, default=150, help="chats per half for --inject (a fixed sample)")
    ap.add_argument("--json", type=Path, help="also write every figure of the quality and --inject runs here")
    ap.add_argument("--embedding-cache", type=Path,
                    help="folder where the quality runs keep the vectors of the texts they embed, so a later run "
                         "with the same texts takes them from there (bench/embedding_cache.py)")
    args = ap.parse_args()
    global IDF, DATABASE_URL
    IDF = args.idf
    stores = [s for s in args.stores.split(",") if s]
    unknown = set(stores) - {"embedded", "pgvector"}
    if unknown:
        ap.error(f"unknown store(s) {sorted(unknown)}: use embedded, pgvector")
    DATABASE_URL = args.database_url
    if "pgvector" in stores and DATABASE_URL is None:
        from bench.store_bench import temporary_postgres

        server = temporary_postgres(tempfile.mkdtemp(prefix="memory_bench_pg_"))
        DATABASE_URL = server.get_uri()
        log(f"# pgvector: a temporary PostgreSQL (shared_buffers 1GB) at {server.get_uri()}")
    sections = set(args.only.split(","))
    if args.turn_context_seconds is not None:
        MEMORY_SETTINGS["turn_context_seconds"] = args.turn_context_seconds
    for setting in args.memory:
        key, sep, value = setting.partition("=")
        if not sep:
            ap.error(f"--memory {setting!r}: write KEY=VALUE")
        MEMORY_SETTINGS[key.strip()] = yaml.safe_load(value)

    t0 = time.perf_counter()
    embedder = create_embedder(EmbedderConfig(provider=args.embedder))
    log(f"# memory_core benchmark: embedder {embedder.name} loaded in "
        f"{time.perf_counter() - t0:.1f} s, RSS {rss_mb():.0f} MB")
    # Two stores get exactly the same vectors; a cache folder keeps them for the next run.
    quality_embedder = (CachedEmbedder(embedder, args.embedding_cache)
                        if len(stores) > 1 or args.embedding_cache else embedder)
    if "embed" in sections:
        bench_embed(embedder)
    if "add" in sections:
        bench_add(embedder)
    if "search" in sections:
        for store in stores:
            bench_search(embedder, [int(s) for s in args.sizes.split(",") if s], users=args.users, store=store)
    runs = []  # (set, half, protocol or query form, add protocol, the half's set)
    if args.locomo:
        from bench.retrieval_sets import load_locomo
        wanted = args.halves.split(",")
        for half, part in halves(load_locomo(args.locomo)).items():
            if half in wanted:
                runs += [("locomo", half, protocol, protocol, part) for protocol in args.protocols.split(",")]
    if args.madial:
        from bench.retrieval_sets import load_madial
        for form, options in MADIAL_FORMS.items():
            for half, part in halves(load_madial(args.madial, **options)).items():
                runs.append(("madial-zh", half, form, "message", part))
    records = []
    for name, half, form, protocol, part in runs:
        label = f"{half} half" + ("" if form == protocol else f", query = {form}")
        for store in stores:
            records.append({"set": name, "half": half, "form": form, "store": store,
                            **bench_quality(quality_embedder, part, protocol, label, store=store)})
    injection = None
    if args.inject and (args.locomo or args.madial):
        from bench.injection_bench import injection_sets, measure_sets, print_table
        log("\n# Injected memories through the chat API (embedded store, the proxy's default injection settings)")
        injection = measure_sets(injection_sets(args.locomo, args.madial), args.inject_queries,
                                 {**MEMORY_SETTINGS, "embedder": {"provider": args.embedder}}, embedder)
    if records:
        log("\n# Summary (R@k at threshold 0; returned, precision, R@10 at the default threshold; "
            f"targets: precision >= {PRECISION_TARGET}, kept >= {KEPT_TARGET:.0%})")
        print_summary(records, len(stores) > 1)
    if injection:
        print_table(injection)
    if args.json:
        args.json.write_text(json.dumps({"quality": records, "injection": injection}, indent=2, ensure_ascii=False))
        log(f"figures written to {args.json}")
    log(f"\npeak RSS {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
