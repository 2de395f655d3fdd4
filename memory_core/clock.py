"""Time behind a tiny interface, so tests can pin 'today' for extraction prompts."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    """ISO 8601 UTC with microseconds and a Z, e.g. 2026-11-23T12:00:00.000000Z."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch_us(dt: datetime) -> int:
    return int(dt.timestamp() * 1_000_000)
