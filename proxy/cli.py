"""``memproxy``: the command line.

    memproxy serve [--config FILE] [--data-dir DIR] [--host 127.0.0.1] [--port 8888] [--open]
    memproxy check-config [--config FILE] [--data-dir DIR]
    memproxy dead-letters [--config FILE] [--data-dir DIR] [--limit 20]
    memproxy keys create|list|revoke [--config FILE] [--data-dir DIR]
    memproxy prepare-model [--config FILE]
    memproxy migrate [--config FILE]
    memproxy export [--config FILE] [--data-dir DIR] --output FILE
    memproxy import SOURCE [--config FILE]

Every command finds its configuration the same way (``--config``, else
``$MEMPROXY_CONFIG``, else ``./config.yaml`` if present, else built-in defaults) and
its data directory too (``--data-dir``, else ``$MEMPROXY_DATA_DIR``, else the config's
``memory.data_dir``, relative to the config file), and says on stderr which it uses,
so ``serve`` and ``keys`` never silently use two different key stores.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from memory_core.errors import MemoryCoreError
from proxy.config import DATA_DIR_ENV, ConfigError, ProxyConfig
from proxy.keys_cli import add_keys_commands, run_keys_command

log = logging.getLogger("proxy")


def main(argv: list[str] | None = None) -> int:
    # This process is memproxy: litellm uses the price list it ships instead of fetching one
    # (8 s of retries at its import on a machine without internet). Before litellm's import.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    parser = argparse.ArgumentParser(prog="memproxy", description="An OpenAI-compatible chat proxy with long-term memory.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    _config_option(serve)
    serve.add_argument("--host", help="interface to listen on (default: server.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: server.port, 8888)")
    serve.add_argument("--open", action="store_true", dest="open_mode",
                       help="serve requests without a key as the default tenant (auth.open: true)")
    serve.add_argument("--allow-open", action="store_true",
                       help="allow open mode on a non-loopback address (not recommended)")
    serve.add_argument("--no-local-model", action="store_true",
                       help="don't start the bundled local model when no provider key is configured")

    check = commands.add_parser("check-config", help="validate the configuration and print it (secrets hidden)")
    _config_option(check)

    dead = commands.add_parser("dead-letters", help="list memory writes that failed for good")
    _config_option(dead)
    dead.add_argument("--limit", type=int, default=20)
    add_keys_commands(commands)
    prepare = commands.add_parser("prepare-model", help="build the offline embedding model now (e.g. in a Docker build)")
    _config_option(prepare)

    migrate = commands.add_parser(
        "migrate", help="create or upgrade the shared-state tables now (the server also does it when it starts)")
    _config_option(migrate)
    export = commands.add_parser("export", help="write an embedded data directory to one file (stop the server first)")
    _config_option(export)
    export.add_argument("--output", "-o", type=Path, required=True, help="the export file to write (JSON Lines)")
    load = commands.add_parser(
        "import", help="move an export file or an embedded data directory into the configured stores")
    _config_option(load)
    load.add_argument("source", type=Path, help="a file made by `memproxy export`, or an embedded data directory")

    args = parser.parse_args(argv)
    try:
        config, source = load_config(args.config, getattr(args, "data_dir", None))
    except ConfigError as exc:
        print(f"memproxy: {exc}", file=sys.stderr)
        return 2
    if args.command != "check-config":
        print(f"memproxy: config {source or 'built-in defaults (no config.yaml here)'}; "
              f"data directory {config.memory.data_dir}", file=sys.stderr)
    handlers = {"serve": _serve, "check-config": _check, "dead-letters": _dead_letters,
                "keys": run_keys_command, "prepare-model": _prepare_model, "migrate": _migrate,
                "export": _export, "import": _import}
    return handlers[args.command](config, args)


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=None,
        help="YAML file (default: $MEMPROXY_CONFIG, else ./config.yaml if present, else built-in defaults)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help=f"memories, write queue and API keys (default: ${DATA_DIR_ENV}, else memory.data_dir of the config)",
    )


def load_config(path: Path | None, data_dir: Path | None, environ: dict[str, str] | None = None,
                ) -> tuple[ProxyConfig, Path | None]:
    """The configuration every command uses, and the file it came from (None: defaults)."""
    environ = dict(os.environ) if environ is None else environ
    source = ProxyConfig.locate(path, environ)
    config = ProxyConfig.load(source, environ)
    data_dir = data_dir or (Path(environ[DATA_DIR_ENV]) if environ.get(DATA_DIR_ENV) else None)
    if data_dir is not None:
        config = config.with_data_dir(data_dir)
    return config, source.absolute() if source is not None else None


def _serve(config: ProxyConfig, args: argparse.Namespace) -> int:
    import uvicorn

    from memory_core.postgres import DatabaseError
    from proxy.app import create_app
    from proxy.auth import InsecureBind, open_mode
    from proxy.ownership import DataDirInUse
    from proxy.state import ServerState

    server = config.server.model_copy(
        update={k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    )
    auth = {k: v for k, v in (("open", True if args.open_mode else None),
                               ("allow_open", True if args.allow_open else None)) if v is not None}
    config = config.model_copy(update={"server": server, "auth": config.auth.model_copy(update=auth)})
    state = ServerState(config)
    try:  # fail before uvicorn starts, with one clear line instead of a traceback
        state.open()
        open_mode(server.host, state.key_store(), config.auth)  # the same decision the server makes
    except DataDirInUse as exc:
        print(f"memproxy: {exc.message}", file=sys.stderr)
        return 1
    except DatabaseError as exc:
        print(f"memproxy: {exc}", file=sys.stderr)
        return 1
    except InsecureBind as exc:
        print(f"memproxy: {exc}", file=sys.stderr)
        return 2
    finally:
        state.release()
    _configure_logging(server.log_level)
    if server.log_format == "json":
        from proxy.request_log import log_json_lines

        log_json_lines()
    local = None if args.no_local_model else _local_model_if_no_provider(config)
    if local is not None:
        config = local.add_to(config)
    app = create_app(config)
    uvicorn.run(
        app,
        host=server.host,
        port=server.port,
        access_log=server.access_log,
        log_level=server.log_level,
        loop="auto",  # uvloop when installed
        http="auto",  # httptools when installed
        timeout_graceful_shutdown=max(config.writer.shutdown_grace + 5, 10),
    )
    return 0


def _local_model_if_no_provider(config: ProxyConfig):
    """With no usable provider key and the `local` extra installed, serve the bundled
    small model so a first run works offline (demo quality)."""
    from proxy import local_model
    from proxy.upstream import model_status

    if any(model_status(m).ready for m in config.models) or not local_model.is_available():
        return None
    model = local_model.LocalModel().start()
    memory = ("memories are stored as said (raw mode: the small model extracts facts too poorly)"
              if config.memory.llm is None else f"memory LLM {config.memory.llm.model}")
    log.warning("no provider API key configured: serving the bundled local model as %r (demo quality); %s. "
                "Set OPENAI_API_KEY or configure models in config.yaml for real answers", model.name, memory)
    return model


def _prepare_model(config: ProxyConfig, args: argparse.Namespace) -> int:
    from memory_core.embedding import create_embedder

    embedder = create_embedder(config.memory.embedder)
    print(f"memproxy: embedding model {embedder.name} ({embedder.dims} dims) is ready")
    return 0


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # litellm logs every call at INFO (and formats it even when nobody reads it): keep its
    # loggers to warnings and errors, which is what an operator of the proxy needs.
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


def _check(config: ProxyConfig, args: argparse.Namespace) -> int:
    print(json.dumps(config.model_dump(mode="json"), indent=2, ensure_ascii=False))
    return 0


def _dead_letters(config: ProxyConfig, args: argparse.Namespace) -> int:
    from proxy.state import ServerState

    if not config.database.shared and not config.queue_path.exists():
        print(json.dumps({"pending": 0, "dead_letters": 0, "items": []}))
        return 0
    state = ServerState(config)
    try:
        if state.shared:  # the embedded queue file may be read while the server runs
            state.open()
        queue = state.write_queue()
        try:
            report = {**queue.counts(), "items": queue.dead_letters(args.limit)}
        finally:
            queue.close()
    except MemoryCoreError as exc:
        print(f"memproxy: {exc}", file=sys.stderr)
        return 1
    finally:
        state.release()
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def _migrate(config: ProxyConfig, args: argparse.Namespace) -> int:
    from memory_core import Memory
    from proxy.state import ServerState

    if not config.database.shared:
        print("memproxy: nothing to migrate: no database.url is configured (the embedded mode keeps its "
              "files up to date itself)", file=sys.stderr)
        return 2
    state = ServerState(config)
    try:
        state.open()  # the proxy's tables: queue, keys, limits
        Memory(config.memory.model_copy(update={"llm": None})).close()  # memory_core's: history, vectors
    except MemoryCoreError as exc:
        print(f"memproxy: {exc}", file=sys.stderr)
        return 1
    finally:
        state.release()
    print("memproxy: the database schema is up to date", file=sys.stderr)
    return 0


def _export(config: ProxyConfig, args: argparse.Namespace) -> int:
    from proxy.ownership import DataDirInUse, DataDirLock
    from proxy.transfer import EmbeddedSource, TransferError, export_to, open_progress

    if config.database.shared:
        print("memproxy: export reads an embedded data directory; this configuration is the shared mode "
              "(use the embedded server's config, or --data-dir DIR with no database.url)", file=sys.stderr)
        return 2
    source = EmbeddedSource.of(config)
    try:
        lock = DataDirLock(config.memory.data_dir).acquire()
    except DataDirInUse as exc:
        print(f"memproxy: {exc.message} (stop it before exporting)", file=sys.stderr)
        return 1
    partial = args.output.with_name(args.output.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as out:
            written = export_to(source, out, open_progress(sys.stderr))
        partial.replace(args.output)  # never a half-written export under the final name
    except (TransferError, MemoryCoreError, OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        print(f"memproxy: {exc}", file=sys.stderr)
        return 1
    finally:
        lock.release()
    print(f"memproxy: exported {_summary(written)} to {args.output}", file=sys.stderr)
    return 0


def _import(config: ProxyConfig, args: argparse.Namespace) -> int:
    from proxy.transfer import TransferError, import_into, open_progress

    import psycopg

    try:
        done = import_into(config, args.source, open_progress(sys.stderr))
    except (TransferError, MemoryCoreError, OSError) as exc:
        print(f"memproxy: {exc}", file=sys.stderr)
        return 1
    except psycopg.Error as exc:  # e.g. a user without the right to create the tables
        print(f"memproxy: the database refused the import: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"memproxy: imported {_summary(done)}", file=sys.stderr)
    return 0


def _summary(counts: dict[str, int]) -> str:
    names = {"memory": "memories", "history": "history events", "key": "API keys", "key_usage": "key-months of use",
             "job": "queued writes", "dead_letter": "dead letters"}
    return ", ".join(f"{counts.get(kind, 0)} {name}" for kind, name in names.items())
