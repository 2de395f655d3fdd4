"""``memproxy keys``: create, list and revoke API keys.

    memproxy keys create [--tenant T] [--name N] [--quota N] [--json]
    memproxy keys list [--json]
    memproxy keys revoke KEY_ID

``create`` prints the new key once, alone on stdout (``KEY=$(memproxy keys create)``
works), with the details on stderr. Nothing else ever shows a key: ``list`` shows
ids and the first characters only. The keys live in ``<data_dir>/keys.sqlite3``, the
same store ``memproxy serve`` uses with the same ``--config`` / ``--data-dir``; with a
``database.url`` (the shared-state mode) they live in that PostgreSQL database, where
every replica reads them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from memory_core.postgres import DatabaseError
from proxy.auth import KeyStoreError, KeyStoreProtocol, key_store
from proxy.auth.keys import current_month


def add_keys_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``keys create|list|revoke`` to the CLI's subparsers; dispatch to :func:`run_keys_command`."""
    keys = subparsers.add_parser("keys", help="manage API keys (create, list, revoke)",
                                 description="Manage the API keys that authorise requests, one tenant each.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=None,
                        help="YAML file (default: $MEMPROXY_CONFIG, else ./config.yaml if present, else defaults)")
    common.add_argument("--data-dir", type=Path, default=None,
                        help="the data directory holding keys.sqlite3 (default: $MEMPROXY_DATA_DIR, else the config's)")
    actions = keys.add_subparsers(dest="keys_command", required=True)

    create = actions.add_parser("create", parents=[common], help="create a key and print it (once)")
    create.add_argument("--tenant", help="whose memories the key reaches (default: memory.tenant, 'default')")
    create.add_argument("--name", help="a label for `keys list`")
    create.add_argument("--quota", type=int, help="requests per calendar month (UTC); default auth.monthly_quota")
    create.add_argument("--json", action="store_true", help="print {id, key, tenant, ...} as JSON")

    listing = actions.add_parser("list", parents=[common], help="list keys (ids and prefixes, never the keys)")
    listing.add_argument("--json", action="store_true")

    revoke = actions.add_parser("revoke", parents=[common], help="revoke a key by its id (key_...)")
    revoke.add_argument("key_id")
    return keys


def run_keys_command(config: Any, args: argparse.Namespace, out: TextIO | None = None,
                     err: TextIO | None = None) -> int:
    """Run ``memproxy keys ...`` against the key store of ``config`` (a ProxyConfig)."""
    out = out or sys.stdout
    err = err or sys.stderr
    pool = None
    try:
        pool = _database_pool(config)
        store = key_store(config.keys_path, pool)
        try:
            if args.keys_command == "create":
                return _create(store, config, args, out, err)
            if args.keys_command == "list":
                return _list(store, args, out)
            return _revoke(store, args, out, err)
        finally:
            store.close()
    except (KeyStoreError, DatabaseError) as exc:
        print(f"memproxy: {exc}", file=err)
        return 1
    finally:
        if pool is not None:
            pool.close()


def _database_pool(config: Any) -> Any:
    """A small pool on ``database.url`` in the shared-state mode, else None (SQLite)."""
    url = getattr(getattr(config, "database", None), "url", None)
    if url is None:
        return None
    from memory_core.postgres import connect

    return connect(url.get_secret_value() if hasattr(url, "get_secret_value") else str(url), max_size=2)


def _create(store: KeyStoreProtocol, config: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    first = not store.has_any_keys()
    key, secret = store.create(tenant=args.tenant or config.memory.tenant, name=args.name, quota=args.quota)
    if first:
        print(_first_key_notice(config), file=err)
    if args.json:
        print(json.dumps({"id": key.id, "key": secret, "tenant": key.tenant, "name": key.name,
                          "quota": key.quota, "created_at": key.created_at}), file=out)
        return 0
    print(secret, file=out)
    quota = f"{key.quota} requests/month" if key.quota else "none"
    print(f"created {key.id} for tenant {key.tenant!r} (name: {key.name or '-'}, quota: {quota}).\n"
          "This is the only time the key is shown: store it now.", file=err)
    return 0


def _list(store: KeyStoreProtocol, args: argparse.Namespace, out: TextIO) -> int:
    keys = store.list()
    rows = [{"id": k.id, "prefix": k.prefix + "...", "tenant": k.tenant, "name": k.name, "quota": k.quota,
             "used_this_month": store.usage(k.id), "created_at": k.created_at, "revoked_at": k.revoked_at}
            for k in keys]
    if args.json:
        print(json.dumps(rows, indent=2), file=out)
        return 0
    if not rows:
        print("no keys yet: create one with `memproxy keys create --tenant NAME`", file=out)
        return 0
    header = ("ID", "KEY", "TENANT", "NAME", f"USED {current_month()}", "QUOTA", "CREATED", "STATUS")
    table = [header] + [
        (r["id"], r["prefix"], r["tenant"], r["name"] or "-", str(r["used_this_month"]),
         str(r["quota"] or "-"), r["created_at"], "revoked" if r["revoked_at"] else "active")
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), file=out)
    return 0


def _revoke(store: KeyStoreProtocol, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    key = store.revoke(args.key_id)
    print(f"revoked {key.id} ({key.prefix}..., tenant {key.tenant!r}); refused from the next request on", file=out)
    if not store.has_active_keys():
        print("No active key is left: every request that needs a key is now refused (the server does not "
              "fall back to open mode; see auth.open).", file=err)
    return 0


def _first_key_notice(config: Any) -> str:
    """What the first key changes, said when it is created (auth.open, proxy/auth/bind.py)."""
    if config.auth.open:
        return ("This is the first key in this key store. auth.open is true, so requests without a key are "
                "still served as the default tenant; set auth.open: false to require keys.")
    return ("This is the first key in this key store: from now on `memproxy serve` requires a key on every "
            "request (send it as `Authorization: Bearer <key>`, or `api_key=` in the OpenAI SDK). A server "
            "already running open stays open until it restarts.")
