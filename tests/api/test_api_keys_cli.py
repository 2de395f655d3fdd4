"""``memproxy keys create|list|revoke``: the key is printed once, alone on stdout;
listings show ids and prefixes only."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from proxy.auth import KeyStore
from proxy.config import ProxyConfig
from proxy.keys_cli import add_keys_commands, run_keys_command


@pytest.fixture
def config(tmp_path):
    return ProxyConfig.parse({"memory": {"data_dir": str(tmp_path)}})


def memproxy(config, *argv):
    """Run ``memproxy keys ...`` as the CLI would; returns (exit code, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="memproxy")
    add_keys_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    code = run_keys_command(config, args, out, err)
    return code, out.getvalue(), err.getvalue()


def test_create_prints_only_the_key_on_stdout(config, tmp_path):
    code, out, err = memproxy(config, "keys", "create", "--tenant", "acme", "--name", "backend")

    assert code == 0
    secret = out.strip()
    assert secret.startswith("mk_") and "\n" not in secret
    assert "only time" in err and "acme" in err
    assert KeyStore(tmp_path / "keys.sqlite3").lookup(secret).tenant == "acme"


def test_create_defaults_to_the_memory_tenant(config, tmp_path):
    _, out, _ = memproxy(config, "keys", "create")
    assert KeyStore(tmp_path / "keys.sqlite3").lookup(out.strip()).tenant == "default"


def test_create_with_a_quota_and_json_output(config):
    code, out, _ = memproxy(config, "keys", "create", "--tenant", "acme", "--quota", "1000", "--json")

    created = json.loads(out)
    assert code == 0
    assert created["key"].startswith("mk_") and created["id"].startswith("key_")
    assert (created["tenant"], created["quota"]) == ("acme", 1000)


def test_list_never_shows_a_key(config):
    _, out, _ = memproxy(config, "keys", "create", "--tenant", "acme", "--name", "backend")
    secret = out.strip()

    _, table, _ = memproxy(config, "keys", "list")
    _, as_json, _ = memproxy(config, "keys", "list", "--json")

    assert secret not in table and secret not in as_json
    assert secret[:7] + "..." in table
    assert "acme" in table and "backend" in table and "active" in table
    [row] = json.loads(as_json)
    assert set(row) == {"id", "prefix", "tenant", "name", "quota", "used_this_month", "created_at", "revoked_at"}


def test_list_without_keys_says_how_to_create_one(config):
    _, out, _ = memproxy(config, "keys", "list")
    assert "memproxy keys create" in out


def test_revoke_by_id(config, tmp_path):
    _, out, _ = memproxy(config, "keys", "create", "--json")
    created = json.loads(out)

    code, said, _ = memproxy(config, "keys", "revoke", created["id"])

    assert code == 0 and created["id"] in said
    assert KeyStore(tmp_path / "keys.sqlite3").lookup(created["key"]) is None
    _, table, _ = memproxy(config, "keys", "list")
    assert "revoked" in table


@pytest.mark.parametrize("argv", [("keys", "revoke", "key_unknown"), ("keys", "create", "--tenant", "bad tenant"),
                                  ("keys", "create", "--quota", "0")])
def test_mistakes_exit_1_with_a_message(config, argv):
    code, out, err = memproxy(config, *argv)
    assert code == 1 and out == "" and err.startswith("memproxy: ")


def test_config_may_follow_the_action():
    parser = argparse.ArgumentParser(prog="memproxy")
    add_keys_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["keys", "list", "--config", "other.yaml"])
    assert str(args.config) == "other.yaml" and args.keys_command == "list"
