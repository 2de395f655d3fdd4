"""A live memproxy (real app, real memory engine) on the fake upstream, shared by the
client tests of one module; each test uses its own user id."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import pytest

from memproxy_stack import Stack, memproxy_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with memproxy_stack(Path(tmp_path_factory.mktemp("memproxy"))) as running:
        yield running


@pytest.fixture
def user_id() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"
