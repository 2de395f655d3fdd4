"""Benchmark of the vector stores alone (no embedder): random unit vectors.

    python -m bench.store_bench                          # edge 1k/10k/100k, qdrant :memory: 1k/10k
    python -m bench.store_bench --sizes 1000,10000 --backends edge
    python -m bench.store_bench --no-optimize
    python -m bench.store_bench --backends edge,pgvector --sizes 100000 --hybrid --users 1000
    python -m bench.store_bench --backends pgvector --database-url postgresql://localhost/bench

``pgvector`` runs on ``--database-url`` (its table ``memproxy_bench_<n>`` is dropped
first), or, without one, on a PostgreSQL started from the pgserver wheel in a temporary
folder for the run (``--shared-buffers``, default 1GB, as a server sized for its data). ``--hybrid`` gives every point BM25 vectors of a synthetic text
(words drawn Zipf-like from a 20k-word vocabulary, the 100 commonest left out as
stopwords would be) and times the fused hybrid search Memory.search runs (four
sources, RRF, smoothing, cosines); recall is then not computed.

Each (backend, size) case runs in its own process so RSS figures do not mix. Points
are spread round-robin over ``--users`` users of one tenant. Per case: upsert
throughput (batches of ``--batch``, building the payloads not counted); top-10 search filtered on one user (p50/p95/p99, recall@10 against
exact numpy search); newest-first listing of one user's first page; a tenant-wide
search (every point in scope); then, for edge, the same after ``optimize()`` and
the time to reopen the shard; RSS after loading, and peak.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import numpy as np


from memory_core.vector_store import MemoryFilter, VectorStore

TENANT = "bench"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def unit(rng: np.random.Generator, n: int, dims: int) -> np.ndarray:
    v = rng.standard_normal((n, dims), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(ms: list[float]) -> dict[str, float]:
    return {q: round(float(np.percentile(ms, p)), 3) for q, p in (("p50", 50), ("p95", 95), ("p99", 99))}


def open_backend(backend: str, root: Path, dims: int, search_threads: int | None = 1,
                 database_url: str | None = None, collection: str = "bench") -> VectorStore:
    if backend == "edge":
        from memory_core.vector_store.edge import EdgeVectorStore

        return EdgeVectorStore(root / "vectors", dims, search_threads=search_threads)
    if backend == "pgvector":
        from memory_core.vector_store.pgvector import PgVectorStore

        return PgVectorStore(dims, url=database_url, collection=collection)
    from memory_core.vector_store.qdrant_server import QdrantServerStore

    return QdrantServerStore(dims, location=":memory:")


class Texts:
    """Synthetic memory texts and queries for the hybrid search: words of a 20k-word
    vocabulary drawn Zipf-like (the 100 commonest left out, as stopwords are), 6-20
    words a memory, 3-6 a query; 5000 distinct memory texts, BM25-embedded once."""

    def __init__(self, seed: int) -> None:
        from memory_core.vector_store.sparse import sparse_document

        self.rng = np.random.default_rng(seed)
        syllables = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "gu", "ba", "fe", "zo", "hi", "wa"]
        self.words = ["".join(syllables[(k // len(syllables) ** j) % len(syllables)] for j in range(4))
                      for k in range(20_100)][100:]
        weights = 1.0 / np.arange(101, 101 + len(self.words))
        self.p = weights / weights.sum()
        self.docs = [" ".join(self.draw(int(self.rng.integers(6, 21)))) for _ in range(5000)]
        self.sparse = [sparse_document(t) for t in self.docs]
        self.ctx_sparse = [sparse_document(self.docs[k - 1] + "\n" + t, 32) for k, t in enumerate(self.docs)]

    def draw(self, n: int) -> list[str]:
        return [self.words[i] for i in self.rng.choice(len(self.words), size=n, p=self.p)]

    def query(self) -> Any:
        from memory_core.vector_store.sparse import sparse_query

        return sparse_query(" ".join(self.draw(int(self.rng.integers(3, 7)))))


def search_stats(store: VectorStore, vectors: np.ndarray, users: int, queries: int, seed: int,
                 texts: Texts | None = None) -> dict[str, Any]:
    from memory_core.vector_store import QueryVectors

    rng = np.random.default_rng(seed)
    n, dims = vectors.shape
    qs = unit(rng, queries, dims)
    who = rng.integers(0, min(users, n), size=queries)
    asked = [qs[i] if texts is None else QueryVectors(qs[i], texts.query()) for i in range(queries)]
    for i in range(min(20, queries)):  # warm-up
        store.search(asked[i], MemoryFilter(tenant=TENANT, user_id=f"u{who[i]}"), 10)
    ms, hits, wanted = [], 0, 0
    for q, u in zip(asked, who):
        flt = MemoryFilter(tenant=TENANT, user_id=f"u{u}")
        t = time.perf_counter()
        found = store.search(q, flt, 10)
        ms.append((time.perf_counter() - t) * 1000)
        if texts is None:
            own = np.arange(u, n, users)
            exact = own[np.argsort(-(vectors[own] @ q))[:10]]
            hits += len({p.payload["i"] for p in found} & set(exact.tolist()))
            wanted += len(exact)
    return {**summary(ms), **({"recall@10": round(hits / wanted, 4)} if wanted else {"hybrid": True})}


def run_case(backend: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"backend": backend, "points": n, "users": args.users, "dims": args.dims}
    if backend == "edge":
        result["search_threads"] = args.search_threads or "per CPU"
    result["rss_start_mb"] = round(rss_mb(), 1)
    rng = np.random.default_rng(args.seed)
    vectors = unit(rng, n, args.dims)
    texts = Texts(args.seed) if args.hybrid else None
    queries = args.queries if backend != "qdrant" else min(args.queries, args.client_queries)
    with tempfile.TemporaryDirectory(prefix="store_bench_") as tmp:
        root = Path(tmp)
        collection = f"bench_{n}"
        if backend == "pgvector":
            drop_collection(args.database_url, collection)
        store = open_backend(backend, root, args.dims, args.search_threads or None, args.database_url, collection)
        base_ts = 1_700_000_000_000_000
        elapsed = 0.0
        for start in range(0, n, args.batch):
            batch = [
                (
                    str(uuid.uuid4()),
                    vectors[i] if texts is None else hybrid_vectors(vectors[i], texts, i),
                    {
                        "tenant": TENANT, "user_id": f"u{i % args.users}", "agent_id": None, "run_id": None,
                        "memory": f"memory number {i}", "hash": f"{i:032x}", "role": "user",
                        "tags": ["bench"], "metadata": {"i": i}, "i": i,
                        "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
                        "created_ts": base_ts + i,
                    },
                )
                for i in range(start, min(n, start + args.batch))
            ]
            t0 = time.perf_counter()
            store.upsert(batch)
            elapsed += time.perf_counter() - t0
        t0 = time.perf_counter()
        store.flush()
        elapsed += time.perf_counter() - t0
        result["upsert_pts_per_s"] = round(n / elapsed)
        result["rss_loaded_mb"] = round(rss_mb(), 1)

        result["search_user"] = search_stats(store, vectors, args.users, queries, args.seed + 1, texts)
        alice = MemoryFilter(tenant=TENANT, user_id="u7")
        result["list_user_page20"] = summary(timed(lambda: store.list(alice, 0, 20), max(20, queries // 5)))
        result["count_user"] = summary(timed(lambda: store.count(alice), max(20, queries // 5)))
        whole = MemoryFilter(tenant=TENANT)
        q = unit(np.random.default_rng(args.seed + 2), 1, args.dims)[0]
        result["search_tenant_wide"] = summary(timed(lambda: store.search(q, whole, 10), args.wide_queries))

        if backend == "edge" and args.optimize:
            t = time.perf_counter()
            store.optimize()
            result["optimize_s"] = round(time.perf_counter() - t, 2)
            result["segments_after_optimize"] = store._live.info().segments_count
            result["search_user_optimized"] = search_stats(store, vectors, args.users, queries, args.seed + 1,
                                                           texts)
            result["search_tenant_wide_optimized"] = summary(
                timed(lambda: store.search(q, whole, 10), args.wide_queries)
            )

        if backend == "edge":
            store.close()
            del vectors
            gc.collect()
            rss_before = rss_mb()
            t = time.perf_counter()
            store = open_backend(backend, root, args.dims, args.search_threads or None)
            result["reopen_s"] = round(time.perf_counter() - t, 3)
            qs = unit(np.random.default_rng(5), 50, args.dims)
            for i, qv in enumerate(qs):
                store.search(qv, MemoryFilter(tenant=TENANT, user_id=f"u{i}"), 10)
            result["rss_reopened_mb"] = round(rss_mb(), 1)
            result["rss_store_after_reopen_mb"] = round(rss_mb() - rss_before, 1)
        store.close()
        if backend == "pgvector":
            drop_collection(args.database_url, collection)
    result["rss_peak_mb"] = round(peak_rss_mb(), 1)
    return result


def hybrid_vectors(dense: np.ndarray, texts: Texts, i: int) -> Any:
    from memory_core.vector_store import Vectors

    k = (i * 7919) % len(texts.docs)
    return Vectors(dense, dense, texts.sparse[k], texts.ctx_sparse[k])


def drop_collection(url: str, collection: str) -> None:
    from memory_core.postgres import connect

    pool = connect(url, max_size=1)
    with pool.connection() as conn:
        for suffix in ("", "_terms", "_docs"):
            conn.execute(f'DROP TABLE IF EXISTS "memproxy_{collection}{suffix}"')
        if conn.execute("SELECT to_regclass('memproxy_migrations')").fetchone()[0] is not None:
            conn.execute("DELETE FROM memproxy_migrations WHERE component = %s", (f"vectors:{collection}",))
    pool.close()


def temporary_postgres(folder: str, shared_buffers: str = "1GB") -> Any:
    """A PostgreSQL (with pgvector) from the pgserver wheel, for this run only, with
    ``shared_buffers`` as a server sized for its data would have (pgserver's default,
    128MB, holds a fifth of 100k memories: most searches then copy their rows in from
    the OS cache, ~1 ms more)."""
    import pgserver

    pgserver.get_server(folder, cleanup_mode="stop").cleanup()  # initdb, then stop to configure
    with open(Path(folder) / "postgresql.auto.conf", "a") as conf:
        conf.write(f"shared_buffers = '{shared_buffers}'\n")
    return pgserver.get_server(folder, cleanup_mode="delete")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--backends", default="edge,qdrant")
    parser.add_argument("--client-max", type=int, default=10_000, help="largest size run on qdrant :memory:")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--client-queries", type=int, default=100, help="queries on qdrant :memory: (slow)")
    parser.add_argument("--wide-queries", type=int, default=20)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--search-threads", type=int, default=1, help="edge search pool threads (0: one per CPU)")
    parser.add_argument("--no-optimize", dest="optimize", action="store_false")
    parser.add_argument("--hybrid", action="store_true", help="time the fused hybrid search (BM25 vectors added)")
    parser.add_argument("--database-url", help="pgvector: PostgreSQL URL (default: a temporary pgserver)")
    parser.add_argument("--shared-buffers", default="1GB", help="shared_buffers of the temporary pgserver")
    parser.add_argument("--case", help="internal: run one backend:size case and print its JSON")
    parser.add_argument("--json", action="store_true", help="print one JSON object per case")
    args = parser.parse_args()

    if args.case:
        backend, size = args.case.split(":")
        print(json.dumps(run_case(backend, int(size), args)))
        return

    passthrough = [a for a in sys.argv[1:] if a != "--json"]
    server = None
    if "pgvector" in args.backends.split(",") and not args.database_url:
        server_dir = tempfile.mkdtemp(prefix="store_bench_pg_")
        server = temporary_postgres(server_dir, args.shared_buffers)
        passthrough += ["--database-url", server.get_uri()]
    for backend in args.backends.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            if backend == "qdrant" and size > args.client_max:
                continue
            done = subprocess.run(
                [sys.executable, __file__, *passthrough, "--case", f"{backend}:{size}"],
                capture_output=True, text=True,
            )
            if done.returncode != 0:
                print(f"{backend} {size}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps(result) if args.json else report(result), flush=True)
    if server is not None:
        server.cleanup()


def report(r: dict[str, Any]) -> str:
    def lat(key: str) -> str:
        s = r.get(key)
        if not s:
            return "-"
        recall = f", recall {s['recall@10']}" if "recall@10" in s else (", hybrid" if s.get("hybrid") else "")
        return f"p50 {s['p50']} / p95 {s['p95']} / p99 {s['p99']} ms{recall}"

    lines = [
        f"== {r['backend']}  {r['points']:,} points over {r['users']:,} users, {r['dims']} dims"
        + (f", search_threads={r['search_threads']}" if "search_threads" in r else ""),
        f"  upsert            {r['upsert_pts_per_s']:,} pts/s",
        f"  search (1 user)   {lat('search_user')}",
        f"  list page (20)    {lat('list_user_page20')}",
        f"  count (1 user)    {lat('count_user')}",
        f"  search (tenant)   {lat('search_tenant_wide')}",
    ]
    if "optimize_s" in r:
        lines += [
            f"  optimize()        {r['optimize_s']} s -> {r['segments_after_optimize']} segments",
            f"  search (1 user)   {lat('search_user_optimized')}   [optimized]",
            f"  search (tenant)   {lat('search_tenant_wide_optimized')}   [optimized]",
        ]
    if "reopen_s" in r:
        lines.append(f"  reopen            {r['reopen_s']} s; store adds {r['rss_store_after_reopen_mb']} MB RSS")
    lines.append(
        f"  RSS               start {r['rss_start_mb']} MB, loaded {r['rss_loaded_mb']} MB, peak {r['rss_peak_mb']} MB"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
