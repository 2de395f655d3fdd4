"""Print the installed packages whose version differs from requirements.lock, as
`name version (lock: version)`, the most likely culprits first (memproxy's direct
dependencies), so a failing newest-releases check names what changed."""

from __future__ import annotations

import re
import sys
from importlib.metadata import distributions, requires

DIRECT = [re.split(r"[<>=!~; \[]", r, maxsplit=1)[0].lower() for r in requires("memproxy-server") or []]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: str) -> dict[str, str]:
    """The lock's pins that apply to this Python and platform (it is a universal lock)."""
    from packaging.requirements import Requirement

    pins: dict[str, str] = {}
    for line in open(path, encoding="utf-8"):
        if not re.match(r"^[A-Za-z0-9]", line):
            continue
        req = Requirement(line.strip())
        if req.marker is None or req.marker.evaluate():
            pins[canonical(req.name)] = str(req.specifier).removeprefix("==")
    return pins


def main() -> None:
    pins = locked(sys.argv[1])
    changed = []
    for dist in distributions():
        name = canonical(dist.metadata["Name"])
        if name in pins and pins[name] != dist.version:
            changed.append((name not in {canonical(d) for d in DIRECT}, name, dist.version, pins[name]))
    print(", ".join(f"{name} {version} (lock: {pin})" for _, name, version, pin in sorted(changed)))


if __name__ == "__main__":
    main()
