"""The Dockerfile cannot be built here (no Docker engine), so these check that what it
runs exists in the project and matches the documented ``docker run`` instructions."""

from __future__ import annotations

import ast
import importlib
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "docs" / "page-client-docker.md"]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def args_of(name: str) -> list[str]:
    return [args for instruction, args in instructions() if instruction == name]


def exec_form(args: str) -> list[str]:
    parsed = json.loads(args)
    assert isinstance(parsed, list), f"use the exec (JSON) form: {args}"
    return parsed


def documented_docker_runs() -> list[list[str]]:
    runs = []
    for doc in DOCS:
        if not doc.exists():
            continue
        text = doc.read_text(encoding="utf-8").replace("\\\n", " ")
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("docker run"):
                runs.append(shlex.split(line))
    return runs


def test_the_base_is_a_slim_python_image() -> None:
    (base,) = args_of("FROM")
    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", base), base


def test_the_server_runs_as_a_non_root_user() -> None:
    users = args_of("USER")
    assert users and users[-1] not in ("root", "0"), "the last USER must not be root"
    run_as = users[-1]
    assert any("useradd" in args and run_as in args for args in args_of("RUN"))


def test_the_command_is_memproxy_serve_on_the_exposed_port() -> None:
    (cmd,) = args_of("CMD")
    command = exec_form(cmd)
    assert command[:2] == ["memproxy", "serve"]
    port = command[command.index("--port") + 1]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert args_of("EXPOSE") == [port] == ["8888"]

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    module, function = scripts["memproxy"].split(":")
    main = getattr(importlib.import_module(module), function)
    with pytest.raises(SystemExit) as done:
        main(["serve", "--help"])
    assert done.value.code == 0


def test_the_health_check_calls_healthz_which_the_app_serves(capsys: pytest.CaptureFixture[str]) -> None:
    (check,) = args_of("HEALTHCHECK")
    assert "CMD" in check and "http://127.0.0.1:8888/healthz" in check

    from proxy.app import create_app

    paths = {getattr(route, "path", None) for route in create_app().router.routes}
    assert "/healthz" in paths


def test_the_embedding_model_is_prepared_at_build_time_as_the_runtime_user() -> None:
    steps = instructions()
    last_user = max(i for i, (name, _) in enumerate(steps) if name == "USER")
    prepare = [(i, args) for i, (name, args) in enumerate(steps) if name == "RUN" and "create_embedder" in args]
    assert prepare, "a RUN step must build the embedding model"
    index, args = prepare[0]
    assert index > last_user, "build the model as the runtime user, so it lands in that user's cache"

    code = shlex.split(args)[shlex.split(args).index("-c") + 1]
    tree = ast.parse(code)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = importlib.import_module(node.module or "")
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module}.{alias.name} does not exist"
                imported.add(alias.asname or alias.name)
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert called <= imported


def test_the_data_volume_is_where_the_configured_data_dir_points() -> None:
    (volume,) = args_of("VOLUME")
    (path,) = exec_form(volume)
    workdir = args_of("WORKDIR")[-1]
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    assert Path(path) == Path(workdir) / config["memory"]["data_dir"]
    # The repository's config.yaml is the image's ./config.yaml, read from the workdir.
    assert any(args.split()[0] == "config.yaml" for args in args_of("COPY"))


def test_everything_copied_exists_and_is_not_docker_ignored() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for args in args_of("COPY"):
        *sources, _ = args.split()
        for source in sources:
            assert (ROOT / source).exists(), source
            assert source.rstrip("/") not in ignored, f"{source} is excluded by .dockerignore"


def test_the_documented_docker_run_commands_match_the_image() -> None:
    runs = documented_docker_runs()
    assert runs, "document how to run the image"
    (volume,) = exec_form(args_of("VOLUME")[0])
    built = [line for doc in DOCS if doc.exists() for line in doc.read_text().splitlines()
             if line.strip().startswith("docker build")]
    names = {shlex.split(line)[shlex.split(line).index("-t") + 1] for line in built}
    for run in runs:
        assert any(part.endswith(":" + volume) for part in run), f"mount the data volume: {' '.join(run)}"
        assert names & set(run), f"run the image that the docs build: {' '.join(run)}"
        if "-d" in run:  # the server itself, not a one-off command
            published = run[run.index("-p") + 1]
            assert published.split(":")[-1] == "8888"
