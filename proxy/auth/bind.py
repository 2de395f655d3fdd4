"""The open-mode rule, checked once before the server listens.

With no API key created, a server on a loopback address runs open (every request is
the default tenant) and says so in the log: that is the local, single-user default.
On any other address that would hand every memory to whoever can reach the port, so
the server refuses to start unless told explicitly (``auth.allow_open``).
"""

from __future__ import annotations

import ipaddress
import logging

from proxy.auth.keys import KeyStore

log = logging.getLogger("proxy.auth")


class InsecureBind(Exception):
    """Listening on this address without API keys is refused."""


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name that could resolve anywhere: not loopback


def check_bind(host: str, store: KeyStore, allow_open: bool = False) -> bool:
    """Whether requests without a key may be served (while no key exists) on ``host``.

    Raises :class:`InsecureBind` when there is no key, ``host`` is not loopback and
    ``allow_open`` is false.
    """
    loopback = is_loopback(host)
    may_run_open = loopback or allow_open
    if store.has_active_keys():
        log.info("API keys required (key store %s)", store.path)
        return may_run_open
    if not may_run_open:
        raise InsecureBind(
            f"refusing to listen on {host} without API keys: anyone reaching it could read every memory. "
            "Create a key with `memproxy keys create`, listen on 127.0.0.1, "
            "or set `auth: {allow_open: true}` in the config if you really mean it."
        )
    if loopback:
        log.warning("no API keys: running OPEN on loopback %s; every request uses the default tenant "
                    "(create a key with `memproxy keys create` to require keys)", host)
    else:
        log.warning("no API keys and auth.allow_open is set: running OPEN on %s; anyone who can reach "
                    "this address can read and change every memory", host)
    return True
