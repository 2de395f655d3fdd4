"""The proxy's configuration, parsed and validated once at start-up.

A YAML file with four parts: ``server`` (where to listen), ``models`` (the upstream
chat models, a litellm model list), ``memory`` (memory_core's own ``MemoryConfig``,
including the memory LLM used for extraction) and the proxy's memory behaviour
(``injection``, ``writer``). Secrets are not written in the file but referenced::

    models:
      - name: gpt-4o-mini
        model: openai/gpt-4o-mini
        api_key: ${OPENAI_API_KEY}            # unset -> null: the server still starts
        api_base: ${OPENAI_BASE_URL:-https://api.openai.com/v1}

    config = ProxyConfig.load("config.yaml")   # raises ConfigError naming the bad field

Relative paths in a file (``memory.data_dir: ./data``) are relative to the file's own
folder, not to wherever the command runs, so ``memproxy serve`` and ``memproxy keys``
started from any folder use the same data directory and key store.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from memory_core.config import MemoryConfig
from proxy.auth.config import AuthConfig

DEFAULT_CONFIG_FILE = Path("config.yaml")
CONFIG_ENV = "MEMPROXY_CONFIG"
DATA_DIR_ENV = "MEMPROXY_DATA_DIR"

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and the field."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8888, ge=0, le=65535)
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="Larger chat request bodies get 413.")
    memory_api_max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Larger bodies on the memory API and Mem0 routes get 413 PAYLOAD_TOO_LARGE.")
    access_log: bool = False
    log_level: str = "info"
    log_format: Literal["text", "json"] = Field(
        "text", description="json: one JSON object per request on the memproxy.access logger (no message text).")
    metrics: bool = Field(True, description="Serve Prometheus metrics at GET /metrics (no tenant data; no key needed).")


class ModelConfig(_Section):
    """One upstream chat model: the name clients ask for, and how litellm reaches it."""

    name: str = Field(..., min_length=1, description="What clients send as `model`.")
    model: str = Field(..., min_length=1, description="litellm model string, e.g. openai/gpt-4o-mini")
    api_base: str | None = None
    api_key: SecretStr | None = None
    timeout: float = Field(120.0, gt=0, description="Seconds for a request, retries and their waits included.")
    params: dict[str, Any] = Field(default_factory=dict, description="Other litellm_params (api_version, rpm ...).")


class RouterConfig(_Section):
    """Retries and fallbacks, applied by litellm's Router."""

    num_retries: int = Field(2, ge=0, le=10)
    retry_after: float = Field(0.0, ge=0, description="Minimum seconds between retries.")
    fallbacks: dict[str, list[str]] = Field(default_factory=dict, description="model name -> names to try next")
    allowed_fails: int | None = Field(None, ge=0)
    cooldown_time: float | None = Field(None, ge=0)


class InjectionConfig(_Section):
    """How remembered facts reach the model: one system message, best first."""

    read: bool = Field(True, description="Search and inject memories unless a request says otherwise.")
    limit: int = Field(10, ge=1, le=100)
    threshold: float | None = Field(None, ge=0.0, le=1.0, description="None: memory_core's default.")
    max_tokens: int = Field(800, ge=16, description="Token budget of the injected system message.")
    timeout: float = Field(5.0, gt=0, description="Seconds to wait for the search before answering without it.")
    preamble: str = "Things you remember about the user from earlier conversations (most relevant first):"


class WriterConfig(_Section):
    """The background writer that stores each finished exchange."""

    write: bool = Field(True, description="Queue a memory write after each answer unless a request says otherwise.")
    user_turns: int = Field(2, ge=1, le=20, description="How many of the latest user messages a write carries.")
    concurrency: int = Field(2, ge=1, le=64, description="Subjects written in parallel (one subject is always in order).")
    max_attempts: int = Field(5, ge=1, le=100)
    backoff: float = Field(2.0, gt=0, description="Seconds before the first retry; doubles each time.")
    max_backoff: float = Field(300.0, gt=0)
    shutdown_grace: float = Field(10.0, ge=0, description="Seconds shutdown waits for writes in flight.")
    lease_seconds: float = Field(
        30.0, ge=1, le=3600,
        description="Shared mode: a replica that stops renewing its claim on a write for this long (it died) "
                    "loses it to another replica.")
    queue_path: Path | None = None  # default <memory.data_dir>/write_queue.sqlite3


class DatabaseConfig(_Section):
    """The shared-state mode (docs/deployment.md): with a URL, the write queue, keys, quotas,
    rate limits and history live in this PostgreSQL database, and the vectors in pgvector
    there unless ``memory.vector_store`` names a Qdrant server, so any number of memproxy
    processes serve the same tenants. Without one (the default), everything is embedded
    in ``memory.data_dir``, owned by one process."""

    url: SecretStr | None = Field(
        None, description="postgresql://user:password@host:5432/db (write it as ${MEMPROXY_DATABASE_URL}).")
    pool_size: int = Field(8, ge=1, le=256, description="Connections each replica keeps open at most.")
    replica: str | None = Field(
        None, max_length=128, description="This process's name in queue claims and metrics (default: host:pid).")

    @property
    def shared(self) -> bool:
        return self.url is not None


class ProxyConfig(_Section):
    server: ServerConfig = Field(default_factory=ServerConfig)
    models: list[ModelConfig] = Field(default_factory=list)
    router: RouterConfig = Field(default_factory=RouterConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    injection: InjectionConfig = Field(default_factory=InjectionConfig)
    writer: WriterConfig = Field(default_factory=WriterConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)

    @model_validator(mode="after")
    def _one_place_for_shared_state(self) -> "ProxyConfig":
        """``database.url`` is memory_core's ``database_url`` too (history and pgvector), and
        a configuration that would share only part of the state between replicas is refused:
        each replica would keep the rest to itself, and the tenants' data would split."""
        url, memory = self.database.url, self.memory
        if url is None:
            if memory.database_url is not None:
                raise ValueError("memory.database_url is set but database.url is not: history and vectors would be "
                                 "shared while each replica kept its own keys, quotas and write queue. Set "
                                 "database.url (memory uses it too) and remove memory.database_url")
            return self
        if memory.database_url is None:
            fields = memory.model_dump(exclude_unset=True)
            fields["database_url"] = url
            if "vector_store" in fields:
                fields["vector_store"] = memory.vector_store.model_dump(exclude_unset=True)
            self.memory = MemoryConfig.model_validate(fields)
        if self.memory.vector_store.provider == "edge":
            raise ValueError("database.url with memory.vector_store.provider edge would keep each replica's "
                             "vectors in its own data directory: use pgvector (the default with a database) or "
                             "a Qdrant server")
        return self

    @model_validator(mode="after")
    def _check_model_names(self) -> "ProxyConfig":
        names = [m.name for m in self.models]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"models: duplicate name(s) {duplicates}")
        for source, targets in self.router.fallbacks.items():
            for name in [source, *targets]:
                if name not in names:
                    raise ValueError(f"router.fallbacks: {name!r} is not a configured model name")
        return self

    @property
    def queue_path(self) -> Path:
        return self.writer.queue_path or self.memory.data_dir / "write_queue.sqlite3"

    @property
    def keys_path(self) -> Path:
        return self.auth.resolved_keys_path(self.memory.data_dir)

    def with_data_dir(self, data_dir: str | Path) -> "ProxyConfig":
        """A copy whose data directory (memories, queue, keys, history) is ``data_dir``."""
        memory = self.memory.model_copy(update={"data_dir": Path(data_dir).absolute()})
        return self.model_copy(update={"memory": memory})

    def resolved_against(self, folder: Path) -> "ProxyConfig":
        """A copy with every relative path made absolute against ``folder``."""

        def absolute(path: Any) -> Any:
            return path if path is None or path.is_absolute() else (folder / path).absolute()

        store = self.memory.vector_store
        memory = self.memory.model_copy(update={
            "data_dir": absolute(self.memory.data_dir),
            "history_path": absolute(self.memory.history_path),
            "vector_store": store.model_copy(update={"path": absolute(store.path)}),
        })
        writer = self.writer.model_copy(update={"queue_path": absolute(self.writer.queue_path)})
        auth = self.auth.model_copy(update={"keys_path": absolute(self.auth.keys_path)})
        return self.model_copy(update={"memory": memory, "writer": writer, "auth": auth})

    @classmethod
    def locate(cls, path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Path | None:
        """The config file to use: ``path``, else ``$MEMPROXY_CONFIG``, else ``./config.yaml``
        if it exists; None means the built-in defaults."""
        environ = os.environ if environ is None else environ
        if path is not None:
            return Path(path)
        if environ.get(CONFIG_ENV):
            return Path(environ[CONFIG_ENV])
        return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.exists() else None

    @classmethod
    def load(cls, path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> "ProxyConfig":
        """Read ``path`` (default: see :meth:`locate`). Relative paths in the file are taken
        relative to its folder; with no file, relative to the current folder."""
        source = cls.locate(path, environ)
        if source is None:
            return cls.parse({}, environ).resolved_against(Path.cwd())
        try:
            data = yaml.safe_load(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{source}: no such file") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: not valid YAML: {exc}") from None
        return cls.parse(data or {}, environ, source=str(source)).resolved_against(source.absolute().parent)

    @classmethod
    def parse(cls, data: Any, environ: Mapping[str, str] | None = None, source: str = "config") -> "ProxyConfig":
        """Validate a parsed mapping, substituting ``${VAR}`` / ``${VAR:-default}`` first."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: the top level must be a mapping, not {type(data).__name__}")
        substituted = substitute_env(data, os.environ if environ is None else environ)
        _refuse_unset_database(data, substituted, source)
        try:
            return cls.model_validate(substituted)
        except ValidationError as exc:
            raise ConfigError(f"{source}: invalid configuration\n{describe(exc)}") from None


def _refuse_unset_database(raw: dict[str, Any], substituted: dict[str, Any], source: str) -> None:
    """A ``database.url`` written as ``${VAR}`` with VAR unset is an error, not the embedded
    mode: replicas that silently fell back to a data directory each would split the tenants'
    memories between them."""
    database = raw.get("database")
    written = database.get("url") if isinstance(database, dict) else None
    resolved = substituted.get("database", {}).get("url") if isinstance(substituted.get("database"), dict) else None
    if isinstance(written, str) and "${" in written and not resolved:
        raise ConfigError(f"{source}: database.url is {written!r}, and that environment variable is not set. "
                          "Set it to the PostgreSQL URL (postgresql://user:password@host:5432/db), or remove "
                          "database.url for the embedded mode")


def substitute_env(value: Any, environ: Mapping[str, str]) -> Any:
    """Replace ``${VAR}`` references in every string. A value that is only a reference to an
    unset variable (with no ``:-default``) becomes None, so optional secrets may be absent."""
    if isinstance(value, dict):
        return {k: substitute_env(v, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, environ) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value
    whole = _ENV_REF.fullmatch(value)
    if whole and whole.group(1) not in environ and whole.group(2) is None:
        return None
    return _ENV_REF.sub(lambda m: environ.get(m.group(1), m.group(2) or ""), value)


def describe(exc: ValidationError) -> str:
    """One line per problem, each starting with the dotted path of the field."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)
