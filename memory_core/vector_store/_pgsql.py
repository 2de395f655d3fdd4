"""The SQL of the pgvector store (memory_core/vector_store/pgvector.py): its schema, and
the one statement that runs the fused hybrid search.

Identifiers come from validated collection names (letters, digits, ``_`` and ``-``),
quoted; every value is a parameter, and the only literals are this module's constants.
"""

from __future__ import annotations

from memory_core.vector_store.base import PREFETCH, RRF_K, SMOOTH


def quote(name: str) -> str:
    # Collection names are validated (letters, digits, _ and -); quoting keeps case and '-'.
    return '"' + name.replace('"', '""') + '"'


def schema_steps(table: str, dims: int) -> list[str]:
    """The collection's schema (appended to, never edited: memory_core.postgres.migrate)."""
    t = quote(table)
    return [
        # An ISO 8601 string as an instant (no zone: UTC); NULL for anything else, never an
        # error: what Qdrant's datetime ranges compare. Shared by every collection.
        r"""CREATE OR REPLACE FUNCTION memproxy_datetime(value jsonb) RETURNS timestamptz
        LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
        DECLARE t text;
        BEGIN
            IF value IS NULL OR jsonb_typeof(value) IS DISTINCT FROM 'string' THEN RETURN NULL; END IF;
            t := btrim(value #>> '{}');
            IF t !~ '^\d{4}-\d{2}-\d{2}' THEN RETURN NULL; END IF;
            IF t ~ '\d{2}:\d{2}' AND t ~ '([Zz]|[+-]\d{2}(:?\d{2})?)$' THEN RETURN t::timestamptz; END IF;
            RETURN t::timestamp AT TIME ZONE 'UTC';
        EXCEPTION WHEN others THEN RETURN NULL;
        END $$""",
        f"""CREATE TABLE {t} (
            id                uuid PRIMARY KEY,
            payload           json NOT NULL,
            tenant            text,
            user_id           text,
            agent_id          text,
            run_id            text,
            hash              text,
            tags              jsonb,
            metadata          jsonb,
            created_ts        bigint,
            dense             vector({int(dims)}) NOT NULL,
            ctx               vector({int(dims)}) NOT NULL,
            bm25_terms        int4[],
            bm25_weights      float4[],
            bm25_ctx_terms    int4[],
            bm25_ctx_weights  float4[]
        );
        -- Inline: a vector moved out to TOAST costs a lookup per row scored.
        ALTER TABLE {t} ALTER COLUMN dense SET STORAGE PLAIN, ALTER COLUMN ctx SET STORAGE PLAIN,
            ALTER COLUMN payload SET STORAGE MAIN, ALTER COLUMN bm25_terms SET STORAGE MAIN,
            ALTER COLUMN bm25_weights SET STORAGE MAIN, ALTER COLUMN bm25_ctx_terms SET STORAGE MAIN,
            ALTER COLUMN bm25_ctx_weights SET STORAGE MAIN;
        CREATE INDEX {quote(table + "_user")} ON {t} (tenant, user_id, created_ts);
        CREATE INDEX {quote(table + "_agent")} ON {t} (tenant, agent_id, created_ts);
        CREATE INDEX {quote(table + "_run")} ON {t} (tenant, run_id, created_ts);
        CREATE INDEX {quote(table + "_tenant")} ON {t} (tenant, created_ts);
        CREATE INDEX {quote(table + "_hash")} ON {t} (tenant, hash);
        -- Document frequencies for idf="collection": points holding each term, per sparse
        -- vector (0 bm25, 1 bm25_ctx), and points holding each sparse vector at all.
        CREATE TABLE {quote(table + "_terms")} (
            vector  smallint NOT NULL,
            term    int4 NOT NULL,
            docs    bigint NOT NULL,
            PRIMARY KEY (vector, term)
        );
        CREATE TABLE {quote(table + "_docs")} (vector smallint PRIMARY KEY, docs bigint NOT NULL);
        INSERT INTO {quote(table + "_docs")} VALUES (0, 0), (1, 0)""",
    ]


def hybrid_sql(table: str, where: str, scope_idf: bool) -> str:
    """One statement for the fused search (docs/retrieval.md, "The recommended
    method"): score the scope's rows on the four sources, rank each source, keep
    the ranks within PREFETCH, fuse by RRF, smooth the best FUSED as
    :func:`~memory_core.vector_store.base.smooth` does and return the first ``limit``
    with both cosines and their payloads (only those payloads leave the server).
    Parameters, in order: the query vector (twice), the query's terms (twice), the
    filter's, the query's terms and weights, the number fused and the limit (the
    constants are literals: a prepared statement's generic plan then still knows
    them)."""
    if scope_idf:  # as Qdrant's IdfParams(corpus=filter): over the scope's points
        frequencies = """
        df AS (SELECT vector, term, count(*) AS df FROM matched GROUP BY vector, term),
        docs AS (SELECT 0 AS vector, count(*) FILTER (WHERE has_bm25) AS docs FROM scope
                 UNION ALL SELECT 1, count(*) FILTER (WHERE has_bm25_ctx) FROM scope),"""
    else:  # every point of the collection, all tenants (Qdrant's default IDF)
        frequencies = f"""
        df AS (SELECT t.vector, t.term, t.docs AS df FROM {quote(table + "_terms")} t JOIN query q USING (term)),
        docs AS (SELECT vector, docs FROM {quote(table + "_docs")}),"""

    def top(score: str, source: str) -> str:  # one source's best PREFETCH, ranked from 1
        return (f"SELECT id, row_number() OVER (ORDER BY {score} DESC, id) AS r FROM (SELECT id, {score} "
                f"FROM {source} WHERE {score} IS NOT NULL ORDER BY {score} DESC, id LIMIT {PREFETCH:d}) AS best")

    return f"""
    WITH scope AS MATERIALIZED (  -- the scope's rows; sparse arrays only where a query term is in them
        SELECT id, tid, plain, ctx, has_bm25, has_bm25_ctx,
               CASE WHEN in_bm25 THEN t0 END AS t0, CASE WHEN in_bm25 THEN w0 END AS w0,
               CASE WHEN in_bm25_ctx THEN t1 END AS t1, CASE WHEN in_bm25_ctx THEN w1 END AS w1
        FROM (SELECT id, ctid AS tid, -(dense <#> %b) AS plain, -(ctx <#> %b) AS ctx,
                     bm25_terms IS NOT NULL AS has_bm25, bm25_ctx_terms IS NOT NULL AS has_bm25_ctx,
                     bm25_terms && %s::int4[] AS in_bm25, bm25_ctx_terms && %s::int4[] AS in_bm25_ctx,
                     bm25_terms AS t0, bm25_weights AS w0, bm25_ctx_terms AS t1, bm25_ctx_weights AS w1
              FROM {quote(table)} WHERE {where}) AS rows
    ),
    query AS (SELECT * FROM unnest(%s::int4[], %s::float8[]) AS q(term, weight)),
    matched AS (  -- (memory, sparse vector, query term, stored weight x query weight)
        SELECT s.id, 0 AS vector, p.term, p.weight * q.weight AS weight
        FROM scope s CROSS JOIN LATERAL unnest(s.t0, s.w0) AS p(term, weight) JOIN query q USING (term)
        WHERE s.t0 IS NOT NULL
        UNION ALL
        SELECT s.id, 1, p.term, p.weight * q.weight
        FROM scope s CROSS JOIN LATERAL unnest(s.t1, s.w1) AS p(term, weight) JOIN query q USING (term)
        WHERE s.t1 IS NOT NULL
    ),{frequencies}
    weighted AS (  -- BM25 with Qdrant's IDF: ln((N - n + 0.5) / (n + 0.5) + 1)
        SELECT m.id, m.vector, m.weight * ln((d.docs - f.df + 0.5::float8) / (f.df + 0.5::float8) + 1) AS w
        FROM matched m JOIN df f USING (vector, term) JOIN docs d USING (vector)
    ),
    sparse AS (
        SELECT id, sum(w) FILTER (WHERE vector = 0) AS bm25, sum(w) FILTER (WHERE vector = 1) AS bm25_ctx
        FROM weighted GROUP BY id
    ),
    ranked AS (
        {top("plain", "scope")}
        UNION ALL {top("ctx", "scope")}
        UNION ALL {top("bm25", "sparse")}
        UNION ALL {top("bm25_ctx", "sparse")}
    ),
    fused AS (  -- Qdrant's RRF: the sum of 1 / (k + rank from 0)
        SELECT id, sum(1.0::float8 / ({RRF_K:d} + r - 1)) AS rrf FROM ranked GROUP BY id
    ),
    top AS (
        SELECT f.id, s.tid, s.plain, s.ctx, f.rrf, row_number() OVER (ORDER BY f.rrf DESC, f.id) AS pos
        FROM fused f JOIN scope s USING (id) ORDER BY f.rrf DESC, f.id LIMIT %s
    ),
    linked AS (SELECT t.*, p.payload FROM top t JOIN {quote(table)} p ON p.ctid = t.tid),
    smoothed AS (  -- s + gamma * max(s(prev), s(next)); a neighbour outside the top counts 0
        SELECT l.id, l.plain, l.ctx, l.payload, l.pos,
               l.rrf + {float(SMOOTH)!r} * GREATEST(COALESCE(a.rrf, 0), COALESCE(b.rrf, 0)) AS score
        FROM linked l
        LEFT JOIN top a ON a.id::text = l.payload ->> 'prev'
        LEFT JOIN top b ON b.id::text = l.payload ->> 'next'
    )
    SELECT id, plain, ctx, payload FROM smoothed ORDER BY score DESC, pos LIMIT %s"""
