#!/usr/bin/env bash
# Build one virtual environment per pinned mem0ai release, for the Mem0 client
# compatibility tests (tests/api/test_api_mem0_clients.py):
#
#   .venv-mem0-0.1.118   .venv-mem0-1.0.11   .venv-mem0-2.2.1   (at the repo root, gitignored)
#
# Each gets mem0ai itself WITHOUT its declared dependencies (vector stores, SQL,
# OpenAI ...), plus only what `from mem0 import MemoryClient` imports: the client
# needs httpx, requests, pydantic, posthog and pytz, and mem0's config modules import
# qdrant_client at import time. 0.1.x also gets litellm, which its `Mem0` proxy
# client calls. The environments are built in parallel. Idempotent: one whose client
# already imports is kept as it is.
#
#   bash tests/api/mem0_envs.sh              # all three
#   bash tests/api/mem0_envs.sh 2.2.1        # just one
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-python3}
versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then
  versions=(0.1.118 1.0.11 2.2.1)
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1

# Pinned to the versions the tests last passed with, so a new release elsewhere cannot
# break them unnoticed; bump together.
client_deps=(httpx==0.28.1 requests==2.34.2 pydantic==2.14.3 posthog==7.91.1 pytz==2026.6
             qdrant-client==1.20.0 protobuf==5.29.6)

check() {
  # $1 = env dir, $2 = version, $3 = extra module to import ("" for none)
  "$1/bin/python" - "$2" "$3" <<'PY' >/dev/null 2>&1
import importlib, importlib.metadata, sys
assert importlib.metadata.version("mem0ai") == sys.argv[1]
from mem0 import AsyncMemoryClient, MemoryClient  # noqa: F401
if sys.argv[2]:
    importlib.import_module(sys.argv[2])
PY
}

build() {
  local ver=$1 env="$root/.venv-mem0-$1" extra=() module=""
  case "$ver" in
    0.1.*) extra=("litellm==1.106.2"); module="mem0.proxy.main" ;;
  esac
  if [ -x "$env/bin/python" ] && check "$env" "$ver" "$module"; then
    echo "mem0_envs: $env is ready"
    return 0
  fi
  echo "mem0_envs: building $env"
  rm -rf "$env"
  "$python" -m venv "$env"
  "$env/bin/pip" install -q --no-deps "mem0ai==$ver"
  # --no-warn-conflicts: mem0ai's own (uninstalled on purpose) requirements are not missing.
  "$env/bin/pip" install -q --no-warn-conflicts "${client_deps[@]}" "${extra[@]}"
  if ! check "$env" "$ver" "$module"; then
    echo "mem0_envs: $env was built but its client does not import:" >&2
    "$env/bin/python" -c "from mem0 import MemoryClient" >&2 || true
    return 1
  fi
  echo "mem0_envs: $env is ready"
}

pids=()
for ver in "${versions[@]}"; do
  build "$ver" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
exit $status
