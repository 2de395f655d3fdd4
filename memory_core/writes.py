"""A batch of memory writes built in memory and applied at once: vector upserts,
deletes and the matching history rows. Building never touches storage, so a
failure while deciding leaves nothing half-written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from memory_core.clock import epoch_us, iso
from memory_core.items import new_ids, public_id, text_hash
from memory_core.scope import Scope
from memory_core.vector_store import StoredPoint, Vectors


class WriteBatch:
    def __init__(self, scope: Scope, now: datetime) -> None:
        self.scope = scope
        self.now = now
        self.upserts: list[tuple[str, Vectors | np.ndarray, dict[str, Any]]] = []
        self.deletes: list[str] = []
        self.history: list[dict[str, Any]] = []
        self._ts = epoch_us(now)
        self._pending: dict[str, StoredPoint] = {}

    def _event(self, pid: str, event: str, old: str | None, new: str | None,
               role: str | None) -> None:
        self.history.append({
            "memory_id": pid, "tenant": self.scope.tenant, "event": event,
            "old_memory": old, "new_memory": new, "role": role,
            "actor_id": self.scope.user_id or self.scope.agent_id or self.scope.run_id,
            "created_at": iso(self.now), "updated_at": iso(self.now),
        })

    def add(self, text: str, vector: Vectors | np.ndarray, role: str, tags: list[str],
            metadata: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Queue a new memory; ``extra`` adds payload fields (e.g. ``timestamp``).
        The point id is ``self.upserts[-1][0]`` afterwards."""
        mid, pid = new_ids()
        # Distinct timestamps keep "newest first" stable within one batch.
        self._ts += 1
        payload = {
            "tenant": self.scope.tenant, "user_id": self.scope.user_id,
            "agent_id": self.scope.agent_id, "run_id": self.scope.run_id,
            "memory": text, "hash": text_hash(text), "role": role,
            "tags": list(tags), "metadata": dict(metadata),
            "created_at": iso(self.now), "updated_at": iso(self.now), "created_ts": self._ts,
        }
        if extra:
            payload.update(extra)
        self.upserts.append((pid, vector, payload))
        self._pending[payload["hash"]] = StoredPoint(pid, payload)
        self._event(pid, "ADD", None, text, role)
        return {"id": mid, "memory": text, "event": "ADD"}

    def pending_with_hash(self, h: str) -> StoredPoint | None:
        return self._pending.get(h)

    def update(self, point: StoredPoint, text: str, vector: Vectors | np.ndarray, *,
               metadata: dict[str, Any] | None = None,
               tags: list[str] | None = None) -> dict[str, Any]:
        payload = dict(point.payload)
        old = payload.get("memory")
        payload.update(memory=text, hash=text_hash(text), updated_at=iso(self.now))
        # A rewritten memory is no longer a turn of its conversation: no neighbours, and
        # never the context of a later message.
        payload.pop("prev", None)
        payload.pop("next", None)
        payload.pop("turn", None)
        if metadata is not None:
            payload["metadata"] = metadata
        if tags is not None:
            payload["tags"] = tags
        self.upserts.append((point.id, vector, payload))
        self._event(point.id, "UPDATE", old, text, payload.get("role"))
        return {"id": public_id(point.id), "memory": text, "event": "UPDATE",
                "previous_memory": old}

    def delete(self, point: StoredPoint) -> dict[str, Any]:
        self.deletes.append(point.id)
        old = point.payload.get("memory")
        self._event(point.id, "DELETE", old, None, point.payload.get("role"))
        return {"id": public_id(point.id), "memory": old, "event": "DELETE"}
