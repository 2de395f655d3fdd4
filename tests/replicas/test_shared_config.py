"""How a configuration chooses the shared-state mode, and what `memproxy migrate` does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from proxy.config import ConfigError, ProxyConfig

ROOT = Path(__file__).resolve().parents[2]
URL = "postgresql://memproxy:s3cret@db:5432/memproxy"


def test_a_database_url_puts_queue_keys_history_and_vectors_in_postgresql():
    config = ProxyConfig.parse({"database": {"url": "${MEMPROXY_DATABASE_URL}"}}, {"MEMPROXY_DATABASE_URL": URL})
    assert config.database.shared
    assert config.memory.database_url.get_secret_value() == URL  # history
    assert config.memory.vector_store.provider == "pgvector"
    assert "s3cret" not in config.model_dump_json()


def test_without_one_everything_stays_embedded():
    config = ProxyConfig.parse({})
    assert not config.database.shared and config.memory.database_url is None
    assert config.memory.vector_store.provider == "edge"


def test_an_unset_database_variable_is_an_error_not_the_embedded_mode():
    with pytest.raises(ConfigError, match=r"database.url is '\$\{MEMPROXY_DATABASE_URL\}'.*not set"):
        ProxyConfig.parse({"database": {"url": "${MEMPROXY_DATABASE_URL}"}}, {})


def test_a_qdrant_server_can_hold_the_vectors_while_postgresql_holds_the_rest():
    config = ProxyConfig.load(ROOT / "deploy" / "config.qdrant.yaml",
                              {"MEMPROXY_DATABASE_URL": URL, "MEMPROXY_QDRANT_URL": "http://qdrant:6333"})
    assert config.database.shared and config.memory.vector_store.provider == "qdrant"


def test_the_compose_file_runs_replicas_on_the_shipped_shared_config():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "memproxy", "lb"} <= services.keys()
    memproxy = services["memproxy"]
    assert memproxy["build"] == "." and memproxy["deploy"]["replicas"] >= 2
    assert memproxy["depends_on"]["postgres"]["condition"] == "service_healthy"
    config_path = memproxy["environment"]["MEMPROXY_CONFIG"].split(":-")[1].rstrip("}")
    mounted = {v.split(":")[1]: v.split(":")[0] for v in memproxy["volumes"]}
    host_dir = next(ROOT / src for dst, src in mounted.items() if config_path.startswith(dst))
    shipped = host_dir / Path(config_path).relative_to("/srv/memproxy/deploy")
    config = ProxyConfig.load(shipped, {"MEMPROXY_DATABASE_URL": URL})
    assert config.database.shared and config.auth.open is False and config.server.host == "0.0.0.0"
    assert "postgres:5432" in memproxy["environment"]["MEMPROXY_DATABASE_URL"]
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server memproxy:8888 resolve;" in nginx and "proxy_buffering off;" in nginx
    assert services["lb"]["ports"] == ["8888:8888"]


def test_migrate_creates_every_table_and_a_second_run_changes_nothing(cluster, postgres_url):
    import psycopg

    folder = cluster.folder()
    first = cluster.command("migrate", folder=folder)
    assert first.returncode == 0, first.stderr
    with psycopg.connect(postgres_url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE 'memproxy_%'").fetchall()}
        versions = conn.execute("SELECT component, MAX(version) FROM memproxy_migrations GROUP BY 1").fetchall()
    assert {"memproxy_write_jobs", "memproxy_api_keys", "memproxy_rate_limits", "memproxy_history",
            "memproxy_memories"} <= tables
    again = cluster.command("migrate", folder=folder)
    assert again.returncode == 0, again.stderr
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT component, MAX(version) FROM memproxy_migrations GROUP BY 1").fetchall() \
            == versions


def test_migrate_without_a_database_says_there_is_nothing_to_do(cluster, tmp_path):
    from served import memproxy, user_env

    result = memproxy("migrate", cwd=tmp_path, env=user_env())
    assert result.returncode == 2 and "no database.url" in result.stderr


def test_an_unreachable_database_stops_the_start_with_one_line(tmp_path):
    from served import memproxy, user_env

    (tmp_path / "config.yaml").write_text(yaml.safe_dump(
        {"database": {"url": f"postgresql://memproxy:s3cret@/memproxy?host={tmp_path}"}}))
    result = memproxy("serve", "--no-local-model", cwd=tmp_path, env=user_env())
    assert result.returncode == 1
    assert "cannot connect to PostgreSQL" in result.stderr and "s3cret" not in result.stderr


def test_dead_letters_reads_the_shared_queue(cluster):
    import json

    folder = cluster.folder()
    listed = cluster.command("dead-letters", folder=folder)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {"pending": 0, "dead_letters": 0, "items": []}
