"""A new user's first hour, as they meet it: the README's `memproxy serve` with no
provider key, the key commands run from another folder, and what each one says."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import openai
import pytest

from served import REPO, Served, memproxy, user_env

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with the shipped config.yaml, as after `git clone`."""
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    return tmp_path


def test_without_a_key_a_chat_fails_at_once_saying_what_to_set(project: Path) -> None:
    with Served("--no-local-model", cwd=project) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="anything")  # the SDK's default retries
        started = time.monotonic()
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        elapsed = time.monotonic() - started
        log = server.log()

    assert caught.value.status_code == 503
    assert "OPENAI_API_KEY" in caught.value.message
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    assert "'gpt-4o-mini' has no API key" in log and "'gpt-4o' has no API key" in log
    assert "Traceback" not in log


def test_serve_says_which_config_and_data_directory_it_uses(project: Path) -> None:
    with Served("--no-local-model", cwd=project) as server:
        log = server.log()
    assert f"config {project / 'config.yaml'}" in log
    assert f"data directory {project / 'data'}" in log


def test_keys_made_from_another_folder_reach_the_same_server(project: Path, tmp_path_factory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    created = memproxy("keys", "create", "--tenant", "acme", cwd=elsewhere,
                       env=user_env(MEMPROXY_CONFIG=str(project / "config.yaml")))
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert f"data directory {project / 'data'}" in created.stderr
    assert "first key" in created.stderr and "requires a key" in created.stderr

    with Served("--no-local-model", cwd=project, ready="/readyz") as server:
        memories = f"{server.url}/v1/memories"
        keyed = httpx.get(memories, params={"userId": "u"}, headers={"Authorization": f"Bearer {key}"})
        anonymous = httpx.get(memories, params={"userId": "u"})
    assert keyed.status_code == 200
    assert anonymous.status_code == 401  # the key store has a key: the server started closed


def test_the_data_directory_can_be_set_once_for_every_command(project: Path, tmp_path_factory) -> None:
    data = tmp_path_factory.mktemp("data")
    env = user_env(MEMPROXY_DATA_DIR=str(data))
    assert memproxy("keys", "create", cwd=project, env=env).returncode == 0
    assert (data / "keys.sqlite3").exists() and not (project / "data" / "keys.sqlite3").exists()
    listed = memproxy("keys", "list", "--data-dir", str(data), cwd=project)
    assert "default" in listed.stdout and "active" in listed.stdout
