"""A real PostgreSQL (16, with pgvector) for the tests, from the ``pgserver`` wheel.

One server per test session, under a temporary folder, on a Unix socket; each test
that asks for ``postgres_url`` gets a database of its own, dropped afterwards. Where
pgserver is not installed (it is in the ``test`` extra for Linux and macOS), the tests
that need PostgreSQL skip and say so.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

SKIP_REASON = ("needs a PostgreSQL with pgvector: pip install pgserver==0.1.4 "
               "(in memproxy-server[test]); `bash .ci/run` installs it")


def start_server(folder: str) -> Any:
    import pgserver

    return pgserver.get_server(folder, cleanup_mode="stop")


def database_url(server_uri: str, dbname: str) -> str:
    """The server's URI with another database name (the socket folder is kept)."""
    parts = urlsplit(server_uri)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def fresh_database(server: Any) -> tuple[str, str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    server.psql(f"CREATE DATABASE {name};")
    return name, database_url(server.get_uri(), name)


def drop_database(server: Any, name: str) -> None:
    server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);")
