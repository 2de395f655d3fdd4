"""Argument checks both adapters share."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from memory_core.errors import DimensionMismatchError, ValidationError


def point_id(value: Any) -> str:
    """The canonical UUID string for a point being written."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValidationError(f"point id {value!r} is not a UUID") from None


def point_ids(values: Sequence[Any]) -> list[str]:
    """Canonical, de-duplicated ids to read or delete; ids that are not UUIDs are
    dropped, since no such point can exist (the caller then reports not found)."""
    if isinstance(values, (str, bytes)):
        raise ValidationError("expected a list of point ids, got a single string")
    ids: dict[str, None] = {}
    for value in values:
        try:
            ids[str(uuid.UUID(str(value)))] = None
        except ValueError:
            continue
    return list(ids)


def vector_list(vector: Any, dims: int) -> list[float]:
    array = np.asarray(vector, dtype=np.float32)
    if array.shape != (dims,):
        raise DimensionMismatchError(f"got a vector of shape {array.shape}; this store holds {dims}-dimensional vectors")
    if not np.isfinite(array).all():
        raise ValidationError("vector contains NaN or infinite values")
    return array.tolist()


def check_page(offset: Any, limit: Any) -> None:
    for name, value in (("offset", offset), ("limit", limit)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(f"{name} must be a non-negative integer, got {value!r}")


def named_vectors(value: Any, dims: int, make_sparse: Callable[[Any], Any]) -> dict[str, Any]:
    """The named vectors of one point (``""``, ``ctx``, and ``bm25``/``bm25_ctx`` when it has
    sparse parts), with ``make_sparse`` turning a sparse part into the adapter's type."""
    from memory_core.vector_store.base import Vectors

    v = Vectors.of(value)
    dense = vector_list(v.dense, dims)
    out: dict[str, Any] = {"": dense, "ctx": dense if v.ctx_dense is None else vector_list(v.ctx_dense, dims)}
    if v.sparse is not None:
        out["bm25"] = make_sparse(v.sparse)
        out["bm25_ctx"] = make_sparse(v.ctx_sparse if v.ctx_sparse is not None else v.sparse)
    return out
