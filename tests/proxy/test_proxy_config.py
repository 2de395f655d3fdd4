"""Configuration: parsed once, secrets from the environment, errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.config import ConfigError, ProxyConfig

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_config_loads_without_any_api_key():
    config = ProxyConfig.load(REPO / "config.yaml", environ={})
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8888)
    assert [m.name for m in config.models] == ["gpt-4o-mini", "gpt-4o"]
    assert config.models[0].api_key is None
    assert config.models[0].api_base == "https://api.openai.com/v1"
    assert config.memory.data_dir == REPO / "data" and config.memory.llm is None  # next to the file


def test_secrets_come_from_environment_variables():
    config = ProxyConfig.load(REPO / "config.yaml", environ={"OPENAI_API_KEY": "sk-123", "OPENAI_BASE_URL": "http://x/v1"})
    assert config.models[0].api_key.get_secret_value() == "sk-123"
    assert "sk-123" not in repr(config)  # secrets are not printed
    assert config.models[0].api_base == "http://x/v1"


def test_references_inside_strings_and_defaults():
    config = ProxyConfig.parse(
        {"models": [{"name": "m", "model": "openai/${MODEL:-gpt-4o-mini}", "api_base": "http://${HOST}:8080/v1"}]},
        environ={"HOST": "gpu1"},
    )
    assert config.models[0].model == "openai/gpt-4o-mini"
    assert config.models[0].api_base == "http://gpu1:8080/v1"


def test_no_file_means_the_embedded_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = ProxyConfig.load()
    assert config.server.port == 8888 and config.memory.data_dir == tmp_path / "data"


def test_a_missing_file_given_explicitly_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        ProxyConfig.load(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"server": {"port": "http"}}, "server.port"),
        ({"server": {"prot": 1}}, "server.prot"),
        ({"models": [{"name": "x"}]}, "models.0.model"),
        ({"memory": {"tenant": ""}}, "memory.tenant"),
        ({"injection": {"max_tokens": 0}}, "injection.max_tokens"),
        ({"router": {"fallbacks": {"a": ["b"]}}}, "router.fallbacks"),
    ],
)
def test_a_bad_value_names_the_field(data, field):
    with pytest.raises(ConfigError) as caught:
        ProxyConfig.parse(data, environ={})
    assert field in str(caught.value)


def test_invalid_yaml_is_reported_with_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("server: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        ProxyConfig.load(path)


def test_the_write_queue_lives_in_the_data_directory():
    config = ProxyConfig.parse({"memory": {"data_dir": "/srv/mem"}}, environ={})
    assert config.queue_path == Path("/srv/mem/write_queue.sqlite3")


def test_relative_paths_in_a_file_are_relative_to_the_file_not_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "memproxy.yaml").write_text("memory:\n  data_dir: ./state\nauth:\n  keys_path: keys.db\n")
    monkeypatch.chdir(tmp_path)  # anywhere but the file's folder

    config = ProxyConfig.load("conf/memproxy.yaml")

    assert config.memory.data_dir == tmp_path / "conf" / "state"
    assert config.keys_path == tmp_path / "conf" / "keys.db"
    assert config.queue_path == tmp_path / "conf" / "state" / "write_queue.sqlite3"


def test_the_config_file_can_be_named_once_in_the_environment(tmp_path, monkeypatch):
    (tmp_path / "elsewhere.yaml").write_text("server:\n  port: 9999\n")
    monkeypatch.chdir(tmp_path)
    assert ProxyConfig.load(environ={"MEMPROXY_CONFIG": str(tmp_path / "elsewhere.yaml")}).server.port == 9999


def test_absolute_paths_in_a_file_are_kept(tmp_path):
    (tmp_path / "c.yaml").write_text(f"memory:\n  data_dir: {tmp_path / 'abs'}\n")
    assert ProxyConfig.load(tmp_path / "c.yaml").memory.data_dir == tmp_path / "abs"
