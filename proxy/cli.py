"""``memproxy``: the command line.

    memproxy serve [--config config.yaml] [--host 127.0.0.1] [--port 8888]
    memproxy check-config [--config config.yaml]
    memproxy dead-letters [--config config.yaml] [--limit 20]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from proxy.config import ConfigError, ProxyConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="memproxy", description="An OpenAI-compatible chat proxy with long-term memory.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    _config_option(serve)
    serve.add_argument("--host", help="interface to listen on (default: server.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: server.port, 8888)")

    check = commands.add_parser("check-config", help="validate the configuration and print it (secrets hidden)")
    _config_option(check)

    dead = commands.add_parser("dead-letters", help="list memory writes that failed for good")
    _config_option(dead)
    dead.add_argument("--limit", type=int, default=20)

    args = parser.parse_args(argv)
    try:
        config = ProxyConfig.load(args.config)
    except ConfigError as exc:
        print(f"memproxy: {exc}", file=sys.stderr)
        return 2
    return {"serve": _serve, "check-config": _check, "dead-letters": _dead_letters}[args.command](config, args)


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=None, help="YAML file (default: ./config.yaml if present, else built-in defaults)"
    )


def _serve(config: ProxyConfig, args: argparse.Namespace) -> int:
    import uvicorn

    from proxy.app import create_app
    from proxy.ownership import DataDirInUse, DataDirLock

    server = config.server.model_copy(
        update={k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    )
    try:  # fail before uvicorn starts, with one clear line instead of a traceback
        DataDirLock(config.memory.data_dir).acquire().release()
    except DataDirInUse as exc:
        print(f"memproxy: {exc.message}", file=sys.stderr)
        return 1
    _configure_logging(server.log_level)
    uvicorn.run(
        create_app(config),
        host=server.host,
        port=server.port,
        access_log=server.access_log,
        log_level=server.log_level,
        loop="auto",  # uvloop when installed
        http="auto",  # httptools when installed
        timeout_graceful_shutdown=max(config.writer.shutdown_grace + 5, 10),
    )
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
