"""A folder of built model files, checked by a manifest and built at most once.

A model folder holds the files fastembed loads plus ``manifest.json``: the format
version, an id of what it was built from, and the sha256 of every file. A folder
whose manifest is missing, stale or does not match its files is rebuilt.

Building happens under a file lock, into a temporary folder next to the target,
then one rename publishes it, so a reader never sees a half-written folder and two
processes starting at once build it once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from filelock import FileLock

MANIFEST = "manifest.json"


def ensure_model_dir(
    target: Path,
    build: Callable[[Path], None],
    *,
    format_version: int,
    source: str,
    lock_timeout_s: float = 600.0,
) -> Path:
    """Return ``target`` holding a verified build, running ``build(tmp_dir)`` if needed.

    ``build`` writes the model files into the folder it is given; the manifest is
    written here. ``source`` identifies the inputs (e.g. package and version): a
    folder built from other inputs is rebuilt.
    """
    if is_valid(target, format_version=format_version, source=source):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock", timeout=lock_timeout_s):
        if is_valid(target, format_version=format_version, source=source):
            return target  # another process built it while we waited
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.build-", dir=target.parent))
        try:
            tmp.chmod(0o755)  # mkdtemp makes it private; the cache is readable like any other
            build(tmp)
            write_manifest(tmp, format_version=format_version, source=source)
            _publish(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if not is_valid(target, format_version=format_version, source=source):
        raise RuntimeError(f"the model built into {target} does not match its manifest")
    return target


def is_valid(folder: Path, *, format_version: int, source: str) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format_version") != format_version or manifest.get("source") != source:
            return False
        files: dict[str, str] = manifest["files"]
        return bool(files) and all(_sha256(folder / name) == digest for name, digest in files.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def write_manifest(folder: Path, *, format_version: int, source: str) -> None:
    files = {
        p.name: _sha256(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST
    }
    manifest = {"format_version": format_version, "source": source, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _publish(tmp: Path, target: Path) -> None:
    """Swap ``tmp`` in as ``target``; a stale ``target`` is moved aside first."""
    if target.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, trash / target.name)
        shutil.rmtree(trash, ignore_errors=True)
    os.replace(tmp, target)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
