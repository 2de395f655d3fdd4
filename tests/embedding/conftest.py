"""Fixtures: the real offline e5 model, built once into the user cache."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def e5(embedder):
    """The default embedder (multilingual e5, offline), shared with the other suites."""
    return embedder
