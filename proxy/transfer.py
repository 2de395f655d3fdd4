"""Moving an embedded data directory into the shared-state mode (``memproxy export`` and
``memproxy import``).

An export is one JSON Lines file: a header, then one record per memory (its payload and
all four vectors, so nothing is embedded again and search ranks exactly as before), per
history event, per API key (its hash, never a secret: there is none to export), per
key-month of quota use, per queued write and per dead letter::

    {"kind": "memproxy-export", "version": 1, "dims": 384, "counts": {...}}
    {"kind": "memory", "id": "...", "payload": {...}, "vectors": {"dense": "<base64 float32>", ...}}
    {"kind": "history", "id": "...", "memory_id": "...", "event": "ADD", ...}
    {"kind": "key", ...}  {"kind": "key_usage", ...}  {"kind": "job", ...}  {"kind": "dead_letter", ...}

``memproxy import SOURCE`` reads an export file, or an embedded data directory directly
(one command: ``memproxy import ./data --config shared.yaml``), and writes into the
stores the configuration names. A ledger in the database (``memproxy_imports``) records
what was written, so an import that was interrupted is simply run again: it writes only
what is not there yet, and never brings back a memory deleted or a key revoked since.
Queued writes are put back in their order.

The embedded files are read while no server owns the directory (the data-directory
lock), so what is exported is consistent.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

import numpy as np

from memory_core.vector_store.base import ScannedPoint, SparseVector, Vectors

FORMAT = "memproxy-export"
VERSION = 1
_PAGE = 256
KINDS = ("memory", "history", "key", "key_usage", "job", "dead_letter")


class TransferError(Exception):
    """The source cannot be read or does not fit the target; the message says what to do."""


# -- records ----------------------------------------------------------------------


def _array(values: np.ndarray | None) -> str | None:
    if values is None:
        return None
    return base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode("ascii")


def _unarray(text: str | None, dims: int) -> np.ndarray | None:
    if text is None:
        return None
    array = np.frombuffer(base64.b64decode(text), dtype="<f4")
    if array.shape != (dims,):
        raise TransferError(f"a vector has {array.size} dimensions; the export says {dims}")
    return array.astype(np.float32)


def _sparse(v: SparseVector | None) -> dict[str, list] | None:
    return None if v is None else {"indices": list(v.indices), "values": [float(x) for x in v.values]}


def _unsparse(value: dict[str, list] | None) -> SparseVector | None:
    return None if value is None else SparseVector([int(i) for i in value["indices"]],
                                                    [float(x) for x in value["values"]])


def memory_record(point: ScannedPoint) -> dict[str, Any]:
    v = point.vectors
    return {"kind": "memory", "id": point.id, "payload": point.payload, "vectors": {
        "dense": _array(v.dense), "ctx": _array(v.ctx_dense), "bm25": _sparse(v.sparse),
        "bm25_ctx": _sparse(v.ctx_sparse)}}


def memory_point(record: dict[str, Any], dims: int) -> tuple[str, Vectors, dict[str, Any]]:
    v = record["vectors"]
    vectors = Vectors(dense=_unarray(v["dense"], dims), ctx_dense=_unarray(v.get("ctx"), dims),  # type: ignore[arg-type]
                      sparse=_unsparse(v.get("bm25")), ctx_sparse=_unsparse(v.get("bm25_ctx")))
    return record["id"], vectors, record["payload"]


# -- reading an embedded data directory -------------------------------------------


@dataclass
class EmbeddedSource:
    """The files of an embedded data directory, read directly."""

    data_dir: Path
    vectors: Path
    history: Path
    keys: Path
    queue: Path

    @classmethod
    def at(cls, data_dir: Path) -> "EmbeddedSource":
        """A data directory with every file where the defaults put it."""
        data_dir = Path(data_dir)
        return cls(data_dir, data_dir / "vectors", data_dir / "history.sqlite3", data_dir / "keys.sqlite3",
                   data_dir / "write_queue.sqlite3")

    @classmethod
    def of(cls, config: Any) -> "EmbeddedSource":
        """The embedded files ``config`` (a ProxyConfig) names, wherever it put them."""
        memory = config.memory
        return cls(memory.data_dir, memory.vector_store.edge_path(memory.data_dir), memory.resolved_history_path,
                   config.keys_path, config.queue_path)

    def check(self) -> None:
        if not self.data_dir.is_dir():
            raise TransferError(f"{self.data_dir} is not a directory")
        if not self.vectors.exists() and self.history.exists():
            raise TransferError(f"{self.vectors} does not exist, but the history does: the memories are somewhere "
                                "else (memory.vector_store.path in the config?)")
        if not any(p.exists() for p in (self.vectors, self.history, self.keys, self.queue)):
            raise TransferError(f"{self.data_dir} holds no memproxy data (no vectors/, history.sqlite3, "
                                "keys.sqlite3 or write_queue.sqlite3)")

    def _rows(self, path: Path, sql: str) -> Iterator[dict[str, Any]]:
        if not path.exists():
            return
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            db.row_factory = sqlite3.Row
            try:
                cursor = db.execute(sql)
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return
                raise
            for row in cursor:
                yield dict(row)

    def _count(self, path: Path, table: str) -> int:
        return sum(row["n"] for row in self._rows(path, f"SELECT COUNT(*) AS n FROM {table}"))

    def dims(self) -> int | None:
        from memory_core.vector_store.edge import stored_dims

        return stored_dims(self.vectors)

    def counts(self) -> dict[str, int]:
        counts = {"memory": 0}
        if self.vectors.exists():
            with self._open_vectors() as store:
                counts["memory"] = store.total()
        counts["history"] = self._count(self.history, "history")
        counts["key"] = self._count(self.keys, "api_keys")
        counts["key_usage"] = self._count(self.keys, "key_usage")
        counts["job"] = self._count(self.queue, "jobs")
        counts["dead_letter"] = self._count(self.queue, "dead_letters")
        return counts

    def _open_vectors(self) -> Any:
        from memory_core.vector_store.edge import EdgeVectorStore

        dims = self.dims()
        if dims is None:
            raise TransferError(f"{self.vectors} is not a memproxy vector store")
        return EdgeVectorStore(self.vectors, dims)

    def records(self) -> Iterator[dict[str, Any]]:
        if self.vectors.exists():
            with self._open_vectors() as store:
                offset: str | None = None
                while True:
                    page, offset = store.scan(offset, _PAGE)
                    yield from (memory_record(p) for p in page)
                    if offset is None:
                        break
        for row in self._rows(self.history, "SELECT * FROM history ORDER BY seq"):
            row["is_deleted"] = bool(row["is_deleted"])
            yield {"kind": "history", **row}
        for row in self._rows(self.keys, "SELECT * FROM api_keys ORDER BY created_at, id"):
            yield {"kind": "key", **row}
        for row in self._rows(self.keys, "SELECT * FROM key_usage ORDER BY key_id, month"):
            yield {"kind": "key_usage", **row}
        for row in self._rows(self.queue, "SELECT * FROM jobs ORDER BY id"):
            yield {"kind": "job", **row, "payload": json.loads(row["payload"])}
        for row in self._rows(self.queue, "SELECT * FROM dead_letters ORDER BY id"):
            yield {"kind": "dead_letter", **row, "payload": json.loads(row["payload"])}


def export_to(source: EmbeddedSource, out: IO[str], progress: Callable[[int, str], Any]) -> dict[str, int]:
    """Write ``source`` as an export file; ``progress(total, kind)`` makes a bar."""
    source.check()
    counts = source.counts()
    header = {"kind": FORMAT, "version": VERSION, "dims": source.dims(), "counts": counts}
    out.write(json.dumps(header) + "\n")
    written = dict.fromkeys(KINDS, 0)
    with progress(sum(counts.values()), "records") as bar:
        for record in source.records():
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            written[record["kind"]] += 1
            bar.update(1)
    return written


def read_export(path: Path) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The header of an export file and an iterator over its records."""
    handle = path.open(encoding="utf-8")
    try:
        header = json.loads(handle.readline() or "null")
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("kind") != FORMAT:
        handle.close()
        raise TransferError(f"{path} is not a memproxy export (made by `memproxy export`)")
    if header.get("version") != VERSION:
        handle.close()
        raise TransferError(f"{path} is export version {header.get('version')}; this memproxy reads {VERSION}")

    def records() -> Iterator[dict[str, Any]]:
        with handle:
            for number, line in enumerate(handle, start=2):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise TransferError(f"{path}, line {number}: not JSON ({exc}); the file is cut "
                                            "or damaged: export again") from None

    return header, records()


# -- writing into the configured stores -------------------------------------------


_LEDGER_STEPS = ["CREATE TABLE memproxy_imports (kind TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (kind, key))"]


class ImportLedger:
    """Which records an import already wrote (``memproxy_imports``), so that running it again
    writes only the rest: a memory deleted or edited since, or a key revoked since, is not
    brought back, and a queued write is not queued twice."""

    def __init__(self, pool: Any) -> None:
        from memory_core.postgres import migrate

        self._pool = pool
        migrate(pool, "imports", _LEDGER_STEPS)

    def new(self, kind: str, keys: list[str]) -> set[str]:
        with self._pool.connection() as conn:
            seen = {row[0] for row in conn.execute(
                "SELECT key FROM memproxy_imports WHERE kind = %s AND key = ANY(%s)", (kind, keys)).fetchall()}
        return set(keys) - seen

    def mark(self, kind: str, keys: list[str]) -> None:
        with self._pool.connection() as conn, conn.cursor() as cur:
            cur.executemany("INSERT INTO memproxy_imports (kind, key) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                            [(kind, key) for key in keys])


def record_key(record: dict[str, Any]) -> str:
    """What identifies a record across runs: its id, or for queued writes (whose ids are the
    source queue's) a digest of what they are."""
    import hashlib

    if record["kind"] in ("memory", "history", "key"):
        return str(record["id"])
    if record["kind"] == "key_usage":
        return f"{record['key_id']}/{record['month']}"
    what = json.dumps([record["subject"], record["created_at"], record["payload"]], sort_keys=True,
                      ensure_ascii=False)
    return hashlib.sha256(what.encode("utf-8")).hexdigest()


class Target:
    """The stores a configuration names, opened for an import."""

    def __init__(self, vectors: Any, history: Any, keys: Any, queue: Any, dims: int, ledger: ImportLedger) -> None:
        self.vectors, self.history, self.keys, self.queue, self.dims = vectors, history, keys, queue, dims
        self.ledger = ledger

    def write(self, records: Iterable[dict[str, Any]], bar: Any) -> dict[str, int]:
        done = dict.fromkeys(KINDS, 0)
        pending: list[dict[str, Any]] = []

        def flush() -> None:
            by_kind: dict[str, list[dict[str, Any]]] = {}
            for record in pending:
                by_kind.setdefault(record["kind"], []).append(record)
            for kind in KINDS:  # the source's order: memories, history, keys, usage, jobs, dead letters
                group = by_kind.get(kind, [])
                if not group:
                    continue
                fresh = self.ledger.new(kind, [record_key(r) for r in group])
                todo = [r for r in group if record_key(r) in fresh]
                self._write(kind, todo)
                self.ledger.mark(kind, [record_key(r) for r in todo])
                bar.update(len(group))
            pending.clear()

        for record in records:
            kind = record.get("kind") if isinstance(record, dict) else None
            if kind not in done:
                raise TransferError(f"unknown record {str(record)[:80]!r}: made by a newer memproxy, or damaged")
            try:
                record_key(record)
            except (KeyError, TypeError) as exc:
                raise TransferError(f"a {kind} record lacks {exc}: the file is damaged; export again") from None
            done[kind] += 1
            if pending and pending[-1]["kind"] != kind:
                flush()
            pending.append(record)
            if len(pending) >= _PAGE:
                flush()
        flush()
        return done

    def _write(self, kind: str, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        try:
            if kind == "memory":
                self.vectors.upsert([memory_point(r, self.dims) for r in records])
            elif kind == "history":
                self.history.import_events(records)
            elif kind == "key":
                for r in records:
                    self.keys.import_key(r)
            elif kind == "key_usage":
                for r in records:
                    self.keys.import_usage(r["key_id"], r["month"], int(r["used"]))
            elif kind == "job":
                for r in records:
                    self.queue.put(r["subject"], r["payload"], now=float(r["created_at"]))
            else:
                for r in records:
                    self.queue.import_dead_letter(r)
        except (KeyError, TypeError, ValueError) as exc:
            raise TransferError(f"a {kind} record is damaged ({type(exc).__name__}: {exc}): export again") from None


def import_into(config: Any, source_path: Path, progress: Callable[[int, str], Any]) -> dict[str, int]:
    """``memproxy import``: ``source_path`` (an export file or an embedded data directory)
    into the shared-state stores ``config`` names."""
    from memory_core.history_postgres import PostgresHistoryStore
    from memory_core.vector_store import open_vector_store
    from proxy.ownership import DataDirInUse, DataDirLock
    from proxy.state import ServerState
    from proxy.writer import PostgresWriteQueue

    if not config.database.shared:
        raise TransferError("memproxy import writes into the shared-state mode: configure database.url "
                            "(docs/deployment.md); an embedded data directory is copied as a folder")
    lock = None
    if source_path.is_dir():
        source = EmbeddedSource.at(source_path)
        source.check()
        try:
            lock = DataDirLock(source_path).acquire()
        except DataDirInUse as exc:
            raise TransferError(f"{exc.message} (stop it before importing its data directory)") from None
        counts, dims, records = source.counts(), source.dims(), source.records()
    else:
        if not source_path.exists():
            raise TransferError(f"{source_path}: no such file or directory")
        header, records = read_export(source_path)
        counts, dims = header.get("counts") or {}, header.get("dims")
    state = ServerState(config)
    opened: list[Any] = []
    try:
        state.open()
        if dims is None:  # nothing with vectors in the source
            vectors = None
        else:
            vectors = open_vector_store(config.memory.resolved_vector_store, config.memory.data_dir, int(dims))
            opened.append(vectors)
        history = PostgresHistoryStore(pool=state.pool)
        queue = PostgresWriteQueue(state.pool, state.replica, config.writer.lease_seconds, listen=False)
        opened += [history, queue]
        target = Target(vectors, history, state.key_store(), queue, int(dims or 0), ImportLedger(state.pool))
        with progress(sum(int(n) for n in counts.values()), "records") as bar:
            done = target.write(records, bar)
        short = {kind: (done.get(kind, 0), int(n)) for kind, n in counts.items() if done.get(kind, 0) < int(n)}
        if short:
            lacking = ", ".join(f"{kind} {got} of {want}" for kind, (got, want) in short.items())
            raise TransferError(f"{source_path} ends early ({lacking}): the file is cut; export again "
                                "(what was read is imported, and a new import skips it)")
        return done
    finally:
        for thing in reversed(opened):
            thing.close()
        state.release()
        if lock is not None:
            lock.release()


def open_progress(stream: IO[str] | None) -> Callable[[int, str], Any]:
    """A tqdm bar factory on ``stream`` (stderr); a silent one when ``stream`` is None."""
    from tqdm import tqdm

    def bar(total: int, unit: str) -> Any:
        return tqdm(total=total, unit=f" {unit}", file=stream, disable=stream is None, dynamic_ncols=True,
                    mininterval=0.5)

    return bar


__all__ = ["EmbeddedSource", "Target", "TransferError", "export_to", "import_into", "read_export", "open_progress"]
