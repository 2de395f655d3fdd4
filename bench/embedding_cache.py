"""An embedder that remembers its vectors by text, in memory and optionally on disk.

The quality runs of bench/memory_bench.py and the scripts in research/ embed the same
dev-set texts again and again (LoCoMo's ~5,500 memories, with their context texts, take
15-20 minutes to embed on 2 cores); with a cache folder a second run takes the vectors
from there. Vectors are stored per embedder name and side (query / document), keyed by
the exact text, so a cached vector is always the one the embedder gave for that text.

    embedder = CachedEmbedder(create_embedder(EmbedderConfig()), Path("/tmp/embedding-cache"))
    Memory({"data_dir": d}, embedder=embedder)

Without a folder it only remembers in memory, so two stores given the same texts get
identical vectors (the ``--stores embedded,pgvector`` comparison).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from memory_core.embedding.base import Embedder, query_scorer


class CachedEmbedder:
    """``embedder`` with every vector it computes remembered (see the module docstring)."""

    def __init__(self, embedder: Embedder, folder: Path | None = None) -> None:
        self._real = embedder
        self.name, self.dims = embedder.name, embedder.dims
        self._memo: dict[tuple[str, str], np.ndarray] = {}
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in embedder.name)
            # Several runs may share the folder: WAL lets them read while one writes.
            self._db = sqlite3.connect(folder / f"{safe}.sqlite3", check_same_thread=False, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS vectors (side TEXT, text TEXT, vector BLOB, "
                             "PRIMARY KEY (side, text))")

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._vectors("query", texts, self._real.embed_queries)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._vectors("document", texts, self._real.embed_documents)

    def score(self, cosine: float) -> float:
        return self._real.score(cosine)

    def scorer(self, query_vector: np.ndarray) -> Any:
        return query_scorer(self._real, query_vector)

    def __getattr__(self, name: str) -> Any:  # anything else the real embedder offers
        return getattr(self._real, name)

    def _vectors(self, side: str, texts: Sequence[str], embed: Any) -> np.ndarray:
        texts = list(texts)
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if (side, t) not in self._memo and not self._load(side, t)]
        if missing:
            computed = embed(missing)
            with self._lock:
                for text, vector in zip(missing, computed):
                    self._memo[(side, text)] = np.asarray(vector, dtype=np.float32)
                if self._db is not None:
                    self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                                         [(side, t, self._memo[(side, t)].tobytes()) for t in missing])
                    self._db.commit()
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        return np.stack([self._memo[(side, t)] for t in texts])

    def _load(self, side: str, text: str) -> bool:
        if self._db is None:
            return False
        row = self._db.execute("SELECT vector FROM vectors WHERE side = ? AND text = ?", (side, text)).fetchone()
        if row is None:
            return False
        self._memo[(side, text)] = np.frombuffer(row[0], dtype=np.float32).copy()
        return True

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
