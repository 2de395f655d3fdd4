"""docs/api.md's curl examples work as written: every shell block of the reference
runs in order against a live server (only the host differs), and each answer is JSON
without an error."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BLOCK = re.compile(r"```bash\n(.*?)```", re.S)


def example_blocks() -> list[str]:
    """The doc's shell blocks, minus those that need the `memproxy` command itself."""
    return [b for b in BLOCK.findall(DOC.read_text(encoding="utf-8")) if "memproxy keys" not in b]


def test_the_reference_has_a_curl_example_for_every_route():
    text = "\n".join(example_blocks())
    for needle in ("curl -s http://localhost:8888/v1/memories \\", "/v1/memories/search",
                   '"http://localhost:8888/v1/memories?userId=', "-X PATCH", "/history",
                   "-X DELETE http://localhost:8888/v1/memories/$MEMORY_ID", '-X DELETE "http://localhost:8888/v1/memories?userId',
                   '"messages"', "/openapi.json", "/v1/ping/"):
        assert needle in text, needle


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_curl_examples_work_as_written(live, alice, tmp_path):
    marker = "----- next example -----"
    script = "set -euo pipefail\n" + f"\necho '{marker}'\n".join(
        block.replace("http://localhost:8888", live.url) for block in example_blocks())

    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin:/usr/local/bin", "MEMPROXY_KEY": alice.key})

    assert done.returncode == 0, done.stderr
    answers = [a.strip() for a in done.stdout.split(marker)]
    assert len(answers) == len(example_blocks())
    for answer in answers:
        for line in answer.splitlines():
            if line.startswith("mem_"):           # `echo $MEMORY_ID`
                continue
            body = json.loads(line)
            assert not (isinstance(body, dict) and "error" in body), line
