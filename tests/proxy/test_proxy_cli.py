"""``memproxy serve`` as a user runs it: start-up, the one-process data directory, and
configuration errors that stop the start with a message naming the field."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from proxy.ownership import DataDirInUse, DataDirLock

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memproxy(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    env.pop("OPENAI_API_KEY", None)
    return subprocess.Popen([sys.executable, "-m", "proxy", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_second_lock_on_a_data_directory_is_refused(tmp_path):
    with DataDirLock(tmp_path):
        with pytest.raises(DataDirInUse, match=f"pid {os.getpid()}"):
            DataDirLock(tmp_path).acquire()
    DataDirLock(tmp_path).acquire().release()  # free again once released


@pytest.mark.slow
def test_serve_starts_with_the_default_config_and_refuses_a_second_process(tmp_path):
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    port = free_port()
    first = memproxy("serve", "--port", str(port), "--no-local-model", cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert first.poll() is None, first.stdout.read()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.2)
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models").json()
        assert [m["id"] for m in models["data"]] == ["gpt-4o-mini", "gpt-4o"]
        assert (tmp_path / "data" / "memproxy.lock").exists()

        second = memproxy("serve", "--port", str(free_port()), "--no-local-model", cwd=tmp_path)
        output, _ = second.communicate(timeout=60)
        assert second.returncode == 1
        assert "already used by another memproxy process" in output and "Traceback" not in output
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=30)
    assert first.returncode == 0


def test_a_bad_config_stops_the_start_naming_the_field(tmp_path):
    (tmp_path / "config.yaml").write_text("server:\n  port: eighty\n")
    result = memproxy("serve", cwd=tmp_path)
    output, _ = result.communicate(timeout=60)
    assert result.returncode == 2
    assert "server.port" in output and "Traceback" not in output
