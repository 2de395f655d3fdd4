"""``Memory``: the embedded memory engine, with Mem0's method names.

    >>> from memory_core import Memory
    >>> m = Memory()                                    # ./data, offline e5, Qdrant Edge
    >>> m.add("你好，我叫张三", user_id="zhangsan")
    >>> m.search("我是谁？", user_id="zhangsan")["results"][0]["memory"]
    '你好，我叫张三'

Every call is scoped to a tenant (the config's, unless ``tenant=`` says otherwise)
and, for writes, searches and listings, to at least one of user_id / agent_id /
run_id. Changes to one scope are serialised, so racing adds of one fact store it once
and an update racing a delete cannot bring the memory back; with a ``database_url``
(several processes sharing the store) a PostgreSQL advisory lock per scope makes that
hold across processes too.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Sequence

from memory_core.clock import Clock, SystemClock, epoch_us, iso
from memory_core.config import MemoryConfig
from memory_core.embedding import create_embedder
from memory_core.embedding.base import Embedder, query_scorer
from memory_core.errors import MemoryNotFoundError, SearchTimeoutError, UnreadableDataError, ValidationError
from memory_core.extraction.inference import Inference
from memory_core.history import open_history
from memory_core.items import new_ids, point_id, public_id, text_hash, to_item
from memory_core.llm import LLM
from memory_core.locks import ScopeLocks, SharedScopeLocks
from memory_core.messages import Message, normalize_messages
from memory_core.scope import Scope, make_scope
from memory_core.search_query import QueryEncoder
from memory_core.validation import (check_json, clean_context, clean_int, clean_metadata, clean_tags, clean_text,
                                    clean_threshold)
from memory_core.vector_store import MemoryFilter, StoredPoint, Vectors, VectorStore, open_vector_store
from memory_core.vector_store.sparse import (AVG_LEN_CTX, AVG_LEN_PLAIN, date_words, parse_timestamp,
                                             sparse_document, with_date)
from memory_core.writes import WriteBatch

log = logging.getLogger("memory_core")

_SCOPE_KEYS = ("user_id", "agent_id", "run_id")


class Memory:
    def __init__(
        self,
        config: MemoryConfig | dict[str, Any] | str | None = None,
        *,
        embedder: Embedder | None = None,
        vector_store: VectorStore | None = None,
        llm: LLM | None = None,
        clock: Clock | None = None,
    ) -> None:
        cfg = MemoryConfig.coerce(config)
        self.config = cfg
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        self._embedder = embedder or create_embedder(cfg.embedder)
        self._store = vector_store or open_vector_store(
            cfg.resolved_vector_store, cfg.data_dir, self._embedder.dims
        )
        try:
            self._history = open_history(cfg)
        except BaseException:
            if vector_store is None:
                self._store.close()
            raise
        if llm is None and cfg.llm is not None:
            from memory_core.extraction.litellm_client import LiteLLMClient

            llm = LiteLLMClient(cfg.llm)
        attempts = cfg.llm.max_attempts if cfg.llm else 2
        self._inference = Inference(llm, attempts) if llm is not None else None
        self._clock = clock or SystemClock()
        # In the shared-state mode, a subject's changes are serialised across processes too.
        self._locks = SharedScopeLocks(cfg.database) if cfg.database else ScopeLocks()
        self._queries = QueryEncoder(self._embedder, cfg.search.context_weight)

    @classmethod
    def from_config(cls, config: MemoryConfig | dict[str, Any] | str) -> "Memory":
        """Build from a config dict, a MemoryConfig, or a YAML file (its ``memory:`` section)."""
        return cls(config)

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    # -- writing ---------------------------------------------------------------------

    def add(
        self,
        messages: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        infer: bool = True,
        tenant: str | None = None,
        timestamp: Any = None,
        continues: bool = False,
    ) -> dict[str, Any]:
        """Remember ``messages``; return ``{"results": [{id, memory, event}]}``.

        ``infer=False`` stores each non-system message as it is. ``infer=True`` asks the
        configured LLM for facts and how they change existing memories; with no LLM
        configured it stores the user's messages verbatim, skipping duplicates.

        Messages stored as they are keep their conversational context: each is also
        indexed together with the message before it, and linked to its neighbours, so a
        reply is found through the question it answers. ``continues=True`` says the
        messages continue the conversation stored before: the first one's context is
        then the subject's latest stored turn, if it is recent (``turn_context_seconds``)
        and of the same conversation (same ``timestamp``), so messages added one at a
        time, as the chat proxy stores them, are indexed as one batch would be. A plain
        string is a fact on its own: it is never another message's context.
        ``timestamp`` (ISO 8601 date/datetime string, epoch seconds, or a datetime)
        says when the conversation happened: its date ("8 May 2023") becomes
        searchable keywords of these memories and is kept in the payload.
        """
        when = parse_timestamp(timestamp)
        date_text = date_words(when)
        extra: dict[str, Any] = {"timestamp": when.isoformat()} if when is not None else {}
        if not isinstance(messages, str):
            extra["turn"] = True  # part of a conversation: may be the next message's context
        follows = continues and bool(extra.get("turn"))
        scope = self._scope(tenant, user_id, agent_id, run_id)
        msgs = normalize_messages(messages, self.config.max_content_chars)
        metadata = clean_metadata(metadata)
        tags = clean_tags(tags)
        images = [ref for m in msgs for ref in m.images]
        if images:
            metadata = {**metadata, "images": images}
        with self._locks.hold(scope.key):
            if not infer:
                chosen = [m for m in msgs if m.role not in ("system", "developer")]
                return {"results": self._add_verbatim(scope, chosen, metadata, tags, False,
                                                      date_text, extra, follows)}
            if self._inference is None:
                chosen = [m for m in msgs if m.role == "user"]
                return {"results": self._add_verbatim(scope, chosen, metadata, tags, True,
                                                      date_text, extra, follows)}
            facts_extra = {k: v for k, v in extra.items() if k != "turn"}  # a fact is no turn
            return {"results": self._add_inferred(scope, msgs, metadata, tags, date_text, facts_extra or None)}

    def _add_verbatim(self, scope: Scope, msgs: list[Message], metadata: dict[str, Any],
                      tags: list[str], skip_near: bool, date_text: str = "",
                      extra: dict[str, Any] | None = None, follows: bool = False) -> list[dict[str, Any]]:
        msgs = [m for m in msgs if m.text]
        if not msgs:
            log.info("no message to store as said for %s (raw mode keeps user messages only)", scope.key)
            return []
        texts = [m.text for m in msgs]
        before = self._latest_turn(scope, (extra or {}).get("timestamp")) if follows else None
        # Context of message i: message i-1 (a skipped duplicate counts); of message 0,
        # the latest stored turn of the same conversation.
        previous = [before.payload.get("memory") if before else None, *texts[:-1]]
        ctx_texts = [f"{p}\n{t}" if p else t for p, t in zip(previous, texts)]
        in_context = [i for i, p in enumerate(previous) if p]
        both = self._embedder.embed_documents(texts + [ctx_texts[i] for i in in_context])
        vectors = both[:len(texts)]
        ctx_vectors = list(vectors)
        for i, vec in zip(in_context, both[len(texts):]):
            ctx_vectors[i] = vec
        batch = WriteBatch(scope, self._clock.now())
        results: list[dict[str, Any]] = []
        created: list[dict[str, Any] | None] = []  # payload of message i's new point
        for i, msg in enumerate(msgs):
            vec = vectors[i]
            dup = self._find_duplicate(scope, msg.text, vec if skip_near else None, batch)
            if dup is not None:
                results.append({"id": public_id(dup.id), "memory": dup.payload["memory"],
                                "event": "NONE"})
                created.append(None)
                continue
            plain_sparse = sparse_document(with_date(date_text, texts[i]), AVG_LEN_PLAIN)
            ctx_sparse = (sparse_document(with_date(date_text, ctx_texts[i]), AVG_LEN_CTX) if previous[i]
                          else plain_sparse)
            results.append(batch.add(msg.text, Vectors(vec, ctx_vectors[i], plain_sparse, ctx_sparse),
                                     msg.role, tags, metadata, extra))
            created.append(batch.upserts[-1][2])
        ids = {id(p): pid for pid, _, p in batch.upserts}
        for first, then in zip(created, created[1:]):
            if first is not None and then is not None:
                first["next"], then["prev"] = ids[id(then)], ids[id(first)]
        if before is not None and created[0] is not None:
            created[0]["prev"] = before.id
        self._apply(batch)
        if before is not None and created[0] is not None:
            try:  # only a ranking aid: the memories are stored either way
                self._store.set_payload(before.id, {"next": ids[id(created[0])]})
            except Exception as exc:  # e.g. a concurrent delete_all of a wider scope removed it
                log.warning("could not link memory %s to the next turn: %s", before.id, exc)
        return results

    def _latest_turn(self, scope: Scope, timestamp: str | None) -> StoredPoint | None:
        """The scope's newest memory, if it is a turn, recent, of the same conversation
        (``timestamp``) and of exactly this scope: a filter's None matches any agent or
        run, and (alice) must not continue (alice, run R)'s conversation."""
        window = self.config.turn_context_seconds
        if window <= 0:
            return None
        since = epoch_us(self._clock.now()) - int(window * 1_000_000)
        latest = self._store.list(self._filter(scope, created_after=since), 0, 1)
        if not latest:
            return None
        payload = latest[0].payload
        if (not payload.get("turn") or payload.get("timestamp") != timestamp
                or self._scope_of(latest[0]) != scope):
            return None
        return latest[0]

    @staticmethod
    def _fact_vectors(text: str, vector: Any, date_text: str = "") -> Vectors:
        """Vectors of a memory that is not a turn (extracted fact, update): ctx = plain."""
        sparse = sparse_document(with_date(date_text, text), AVG_LEN_PLAIN)
        return Vectors(vector, vector, sparse, sparse)

    def _add_inferred(self, scope: Scope, msgs: list[Message], metadata: dict[str, Any],
                      tags: list[str], date_text: str = "",
                      extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        assert self._inference is not None
        now = self._clock.now()
        facts = self._inference.extract_facts(msgs, today=now.date().isoformat())
        if not facts:
            log.info("memory LLM found no fact in %d message(s) for %s: nothing stored",
                     len(msgs), scope.key)
            return []
        fact_vectors = self._embedder.embed_documents(facts)
        flt = self._filter(scope)
        neighbours: dict[str, StoredPoint] = {}
        for vec in fact_vectors:
            for p in self._store.search(vec, flt, 5):
                neighbours.setdefault(p.id, p)
        decisions = self._inference.decide(facts, [(pid, p.payload["memory"])
                                                   for pid, p in neighbours.items()])
        # Every LLM call is done: from here on only local writes, applied as one batch.
        vectors = dict(zip(facts, fact_vectors))
        to_embed = [d.text for d in decisions
                    if d.event in ("ADD", "UPDATE") and d.text not in vectors]
        if to_embed:
            vectors.update(zip(to_embed, self._embedder.embed_documents(to_embed)))
        batch = WriteBatch(scope, now)
        results: list[dict[str, Any]] = []
        for d in decisions:
            if d.event == "ADD":
                dup = self._find_duplicate(scope, d.text, None, batch)
                if dup is None:
                    results.append(batch.add(d.text, self._fact_vectors(d.text, vectors[d.text], date_text),
                                             "user", tags, metadata, extra))
            elif d.event == "UPDATE":
                results.append(batch.update(neighbours[d.point_id], d.text,
                                            self._fact_vectors(d.text, vectors[d.text])))
            elif d.event == "DELETE":
                results.append(batch.delete(neighbours[d.point_id]))
            else:
                p = neighbours[d.point_id]
                results.append({"id": public_id(p.id), "memory": p.payload["memory"],
                                "event": "NONE"})
        self._apply(batch)
        return results

    def _find_duplicate(self, scope: Scope, text: str, vector: Any,
                        batch: WriteBatch) -> StoredPoint | None:
        """An existing memory of this scope with the same text, or (when ``vector`` is
        given) one so close in meaning that storing ``text`` would add nothing."""
        h = text_hash(text)
        pending = batch.pending_with_hash(h)
        if pending is not None:
            return pending
        same = self._store.list(self._filter(scope, hash=h), 0, 1)
        if same:
            return same[0]
        if vector is not None:
            for p in self._store.search(vector, self._filter(scope), 1):
                if self._embedder.score(p.score or 0.0) >= self.config.near_duplicate_score:
                    return p
        return None

    def _apply(self, batch: WriteBatch) -> None:
        if batch.upserts:
            self._store.upsert(batch.upserts)
        if batch.deletes:
            self._store.delete(batch.deletes)
        self._history.record(batch.history)

    def update(self, memory_id: str, data: str, *, metadata: dict[str, Any] | None = None,
               tags: list[str] | None = None, tenant: str | None = None) -> dict[str, Any]:
        """Replace a memory's text (and optionally its metadata and tags); recorded in history."""
        text = clean_text(data, "data", self.config.max_content_chars)
        new_meta = clean_metadata(metadata) if metadata is not None else None
        new_tags = clean_tags(tags) if tags is not None else None
        current = self._owned(memory_id, tenant)
        scope = Scope(current.payload["tenant"], current.payload.get("user_id"),
                      current.payload.get("agent_id"), current.payload.get("run_id"))
        with self._locks.hold(scope.key):
            current = self._owned(memory_id, tenant)
            vector = self._embedder.embed_documents([text])[0]
            when = current.payload.get("timestamp")
            date_text = date_words(parse_timestamp(when)) if isinstance(when, str) else ""
            batch = WriteBatch(scope, self._clock.now())
            batch.update(current, text, self._fact_vectors(text, vector, date_text),
                         metadata=new_meta, tags=new_tags)
            self._apply(batch)
        return to_item(current.id, batch.upserts[0][2])

    def update_many(self, changes: list[dict[str, Any]], *, tenant: str | None = None) -> list[dict[str, Any]]:
        """Change several memories, all or none: every entry (``{"memory_id", "data"?,
        "metadata"?}``) is validated and its memory found before the first is changed,
        so one bad entry leaves every memory as it was. Returns the updated items."""
        if not isinstance(changes, list):
            raise ValidationError("changes must be a list")
        prepared = []
        for i, change in enumerate(changes):
            if not isinstance(change, dict) or not isinstance(change.get("memory_id"), str):
                raise ValidationError(f"changes[{i}] must be an object with a memory_id")
            data = change.get("data")
            text = clean_text(data, f"changes[{i}].data", self.config.max_content_chars) if data is not None else None
            metadata = clean_metadata(change["metadata"]) if change.get("metadata") is not None else None
            current = self._owned(change["memory_id"], tenant)
            prepared.append((change["memory_id"], text or current.payload["memory"], metadata))
        return [self.update(mid, text, metadata=metadata, tenant=tenant) for mid, text, metadata in prepared]

    def delete(self, memory_id: str, *, tenant: str | None = None) -> dict[str, Any]:
        """Delete one memory (recorded in history). Serialised with every other change of
        its subject's memories, so a racing update cannot bring it back."""
        scope = self._scope_of(self._owned(memory_id, tenant))
        with self._locks.hold(scope.key):
            current = self._owned(memory_id, tenant)  # gone meanwhile: not found
            batch = WriteBatch(scope, self._clock.now())
            batch.delete(current)
            self._apply(batch)
        return {"message": "Memory deleted successfully!", "id": public_id(current.id)}

    def delete_all(self, *, user_id: str | None = None, agent_id: str | None = None,
                   run_id: str | None = None, tenant: str | None = None) -> dict[str, Any]:
        """Delete every memory of one subject (a subject is required: never global).
        If some cannot be read back (stored by an older version), all of them are still
        deleted, and their history records the deletions without the texts."""
        scope = self._scope(tenant, user_id, agent_id, run_id)
        flt = self._filter(scope)
        deleted = 0
        with self._locks.hold(scope.key):
            while True:
                try:
                    page = self._store.list(flt, 0, 500)
                except UnreadableDataError:
                    page = [StoredPoint(i, {}) for i in self._store.delete_where(flt)]
                if not page:
                    break
                batch = WriteBatch(scope, self._clock.now())
                for p in page:
                    batch.delete(p)
                self._apply(batch)
                deleted += len(page)
        return {"message": f"Deleted {deleted} memories.", "deleted": deleted}

    def reset(self) -> None:
        """Delete every memory and all history, in every tenant."""
        self._store.reset()
        self._history.reset()

    # -- reading ---------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int = 10,
        threshold: float | None = None,
        tags: list[str] | None = None,
        filters: dict[str, Any] | None = None,
        tenant: str | None = None,
        timeout: float | None = None,
        context: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Memories of one subject ranked by relevance (meaning and words: dense and
        BM25 matches fused, plus the neighbouring turns of strong hits), best first.
        Each has a ``score`` in [0, 1], its calibrated relatedness to the query (0.5 and
        above: related, both in absolute terms and relative to how close the query is to
        any everyday memory of its language; see docs/memory_core.md "Scores"); results
        below ``threshold`` are dropped, so scores are not monotone in rank.
        ``filters`` matches metadata: a value for equality, ``{"in": [...]}``,
        ``{"ne": v}``, or ``{"gte"/"gt"/"lte"/"lt": x}`` (numbers or ISO dates);
        ``tags`` must all be present. With ``timeout`` (seconds), a search that cannot
        finish in time raises :class:`SearchTimeoutError` at its next stage (before
        embedding the query, before searching the store) instead of running on.
        ``context``: the user's earlier messages of the same conversation, oldest first,
        when ``query`` is a chat message: if the last two are about what it is about, the
        search leans on them (``search.context_weight``), so "what should I wear to it?"
        finds the memories of what "it" is (memory_core/search_query.py)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        _in_time(deadline)
        filters, ids = _split_filters(filters)
        scope = self._scope(tenant, user_id or ids.get("user_id"),
                            agent_id or ids.get("agent_id"), run_id or ids.get("run_id"))
        text = clean_text(query, "query", self.config.max_content_chars)
        earlier = clean_context(context, self.config.max_content_chars)
        limit = clean_int(limit, "limit", 1, self.config.search.max_limit)
        minimum = clean_threshold(threshold, self.config.search.threshold)
        flt = self._filter(scope, tags=clean_tags(tags), metadata=filters)
        query = self._queries.encode(text, earlier, namespace=scope.tenant)
        scored = query_scorer(self._embedder, query.dense)
        _in_time(deadline)
        # A few spare candidates refill what the threshold drops.
        wanted = limit if minimum <= 0 else limit + max(limit, 5)
        results = []
        for p in self._store.search(query, flt, wanted):
            score = scored(p.score or 0.0)
            if score >= minimum:
                results.append(to_item(p.id, p.payload, score))
                if len(results) == limit:
                    break
        return {"results": results}

    def get(self, memory_id: str, *, tenant: str | None = None) -> dict[str, Any] | None:
        """The memory, or None if no memory of this tenant has that id."""
        try:
            p = self._owned(memory_id, tenant)
        except MemoryNotFoundError:
            return None
        return to_item(p.id, p.payload)

    def get_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        tags: list[str] | None = None,
        filters: dict[str, Any] | None = None,
        page: int = 1,
        page_size: int = 20,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        """One page of a subject's memories, newest first, with the total count."""
        filters, ids = _split_filters(filters)
        scope = self._scope(tenant, user_id or ids.get("user_id"),
                            agent_id or ids.get("agent_id"), run_id or ids.get("run_id"))
        page = clean_int(page, "page", 1, 1_000_000)
        page_size = clean_int(page_size, "page_size", 1, 1000)
        flt = self._filter(scope, tags=clean_tags(tags), metadata=filters)
        points = self._store.list(flt, (page - 1) * page_size, page_size)
        return {
            "results": [to_item(p.id, p.payload) for p in points],
            "total": self._store.count(flt),
            "page": page,
            "page_size": page_size,
        }

    def history(self, memory_id: str, *, tenant: str | None = None) -> list[dict[str, Any]]:
        """Every ADD / UPDATE / DELETE of the memory, oldest first (also after deletion)."""
        pid = point_id(memory_id)
        rows = self._history.for_memory(pid, tenant or self.config.tenant)
        for r in rows:
            r["memory_id"] = public_id(r["memory_id"])
        return rows

    def entities(self, *, tenant: str | None = None) -> list[dict[str, Any]]:
        """The users, agents and runs that have memories in the tenant, with counts and
        first/last dates (Mem0's users()). One pass over the tenant's memories."""
        kinds = {"user": "user_id", "agent": "agent_id", "run": "run_id"}
        found: dict[tuple[str, str], dict[str, Any]] = {}
        flt = MemoryFilter(tenant=tenant or self.config.tenant)
        offset, page = 0, 500
        while True:
            points = self._store.list(flt, offset, page)
            for p in points:
                created, updated = p.payload.get("created_at"), p.payload.get("updated_at")
                for kind, key in kinds.items():
                    name = p.payload.get(key)
                    if not name:
                        continue
                    e = found.setdefault((kind, name), {
                        "id": name, "name": name, "type": kind, "total_memories": 0,
                        "created_at": created, "updated_at": updated})
                    e["total_memories"] += 1
                    e["created_at"] = min(filter(None, (e["created_at"], created)), default=None)
                    e["updated_at"] = max(filter(None, (e["updated_at"], updated)), default=None)
            if len(points) < page:
                break
            offset += page
        order = list(kinds)
        return sorted(found.values(), key=lambda e: (order.index(e["type"]), e["name"]))

    def ready(self) -> bool:
        """True when the embedder and the store answer."""
        self._store.count(MemoryFilter(tenant="\x00ready"))
        return True

    def close(self) -> None:
        self._store.flush()
        self._store.close()
        self._history.close()
        self._locks.close()

    def __enter__(self) -> "Memory":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers ---------------------------------------------------------------------

    def _scope(self, tenant: str | None, user_id: Any, agent_id: Any, run_id: Any) -> Scope:
        return make_scope(tenant or self.config.tenant, user_id, agent_id, run_id)

    @staticmethod
    def _filter(scope: Scope, **extra: Any) -> MemoryFilter:
        tags = tuple(extra.pop("tags", ()) or ())
        return MemoryFilter(tenant=scope.tenant, user_id=scope.user_id, agent_id=scope.agent_id,
                            run_id=scope.run_id, tags=tags, **extra)

    @staticmethod
    def _scope_of(p: StoredPoint) -> Scope:
        pl = p.payload
        return Scope(pl["tenant"], pl.get("user_id"), pl.get("agent_id"), pl.get("run_id"))

    def _owned(self, memory_id: str, tenant: str | None) -> StoredPoint:
        pid = point_id(memory_id)
        found = self._store.retrieve([pid])
        if not found or found[0].payload.get("tenant") != (tenant or self.config.tenant):
            # Another tenant's memory is indistinguishable from a missing one.
            raise MemoryNotFoundError(f"no memory with id {memory_id}")
        return found[0]


def _in_time(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() >= deadline:
        raise SearchTimeoutError("the search did not finish within its timeout")


def _split_filters(filters: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Mem0 lets callers put user_id/agent_id/run_id inside ``filters``: lift them out."""
    if not filters:
        return None, {}
    if not isinstance(filters, dict):
        raise ValidationError("filters must be an object")
    check_json(filters, "filters")
    ids = {k: filters[k] for k in _SCOPE_KEYS if k in filters}
    rest = {k: v for k, v in filters.items() if k not in _SCOPE_KEYS}
    return rest or None, ids
