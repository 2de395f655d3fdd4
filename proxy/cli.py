"""``memproxy``: the command line.

    memproxy serve [--config config.yaml] [--host 127.0.0.1] [--port 8888]
    memproxy check-config [--config config.yaml]
    memproxy dead-letters [--config config.yaml] [--limit 20]
    memproxy keys create|list|revoke [--config config.yaml]
    memproxy prepare-model [--config config.yaml]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from proxy.config import ConfigError, ProxyConfig
from proxy.keys_cli import add_keys_commands, run_keys_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="memproxy", description="An OpenAI-compatible chat proxy with long-term memory.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    _config_option(serve)
    serve.add_argument("--host", help="interface to listen on (default: server.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: server.port, 8888)")
    serve.add_argument("--allow-open", action="store_true",
                       help="serve without API keys even on a non-loopback address (not recommended)")
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

    args = parser.parse_args(argv)
    try:
        config = ProxyConfig.load(args.config)
    except ConfigError as exc:
        print(f"memproxy: {exc}", file=sys.stderr)
        return 2
    handlers = {"serve": _serve, "check-config": _check, "dead-letters": _dead_letters,
                "keys": run_keys_command, "prepare-model": _prepare_model}
    return handlers[args.command](config, args)


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=None, help="YAML file (default: ./config.yaml if present, else built-in defaults)"
    )


def _serve(config: ProxyConfig, args: argparse.Namespace) -> int:
    import uvicorn

    from proxy.app import create_app
    from proxy.ownership import DataDirInUse, DataDirLock

    from proxy.auth import InsecureBind

    server = config.server.model_copy(
        update={k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    )
    update: dict = {"server": server}
    if args.allow_open:
        update["auth"] = config.auth.model_copy(update={"allow_open": True})
    config = config.model_copy(update=update)
    try:  # fail before uvicorn starts, with one clear line instead of a traceback
        DataDirLock(config.memory.data_dir).acquire().release()
    except DataDirInUse as exc:
        print(f"memproxy: {exc.message}", file=sys.stderr)
        return 1
    _configure_logging(server.log_level)
    local = None if args.no_local_model else _local_model_if_no_provider(config)
    if local is not None:
        config = local.add_to(config, memory_llm=True)
    try:
        app = create_app(config)
    except InsecureBind as exc:
        print(f"memproxy: {exc}", file=sys.stderr)
        return 2
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
    from proxy.routes.page import model_status

    if any(model_status(m)["ready"] for m in config.models) or not local_model.is_available():
        return None
    logging.getLogger("proxy").warning(
        "no provider API key configured: serving the bundled local model (demo quality); "
        "set OPENAI_API_KEY or configure models in config.yaml for real answers")
    return local_model.LocalModel().start()


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
    from proxy.writer import WriteQueue

    if not config.queue_path.exists():
        print(json.dumps({"pending": 0, "dead_letters": 0, "items": []}))
        return 0
    queue = WriteQueue(config.queue_path)
    try:
        report = {**queue.counts(), "items": queue.dead_letters(args.limit)}
    finally:
        queue.close()
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0
