"""``memproxy serve`` in its own process, started the way a user starts it (the command,
a working folder, the environment), on a free loopback port. Shared by the tests of
the command line, the first hour and the local model (loaded by path elsewhere)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
# What a new user has: no provider key in the environment.
PROVIDER_VARIABLES = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MEMPROXY_CONFIG", "MEMPROXY_DATA_DIR")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def user_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_VARIABLES}
    env.pop("LITELLM_LOCAL_MODEL_COST_MAP", None)  # the command sets it itself
    env["PYTHONPATH"] = str(REPO)
    return {**env, **extra}


def memproxy(*args: str, cwd: Path, env: dict[str, str] | None = None, **options: Any) -> subprocess.CompletedProcess:
    """Run one ``memproxy`` command to completion."""
    return subprocess.run([sys.executable, "-m", "proxy", *args], cwd=cwd, env=env or user_env(),
                          capture_output=True, text=True, timeout=120, **options)


class Served:
    """``with Served(cwd=folder) as server: server.url ...``; ``server.log()`` is its output."""

    def __init__(self, *args: str, cwd: Path, env: dict[str, str] | None = None, ready: str = "/healthz",
                 timeout: float = 120.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_path = Path(cwd) / f".memproxy-{self.port}.log"
        self._args = ["serve", "--port", str(self.port), *args]
        self._cwd, self._env, self._ready, self._timeout = cwd, env or user_env(), ready, timeout
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Served":
        out = self._log_path.open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "proxy", *self._args], cwd=self._cwd,
                                        env=self._env, stdout=out, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + self._timeout
        while True:
            assert self.process.poll() is None, f"memproxy serve exited:\n{self.log()}"
            try:
                if httpx.get(self.url + self._ready, timeout=5).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"memproxy serve did not answer {self._ready}:\n{self.log()}"
            time.sleep(0.2)

    def log(self) -> str:
        return self._log_path.read_text(errors="replace")

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
