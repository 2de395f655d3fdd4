"""Open mode, decided once before the server listens and never again.

Open mode serves requests that carry no memproxy key as the default tenant: the local,
single-user first run. ``auth.open`` says whether it is on (true / false); unset, it is
on only while the key store has never held a key, so revoking every key never re-opens
a server. The decision is made at start-up and logged; creating or revoking keys while
the server runs changes who is admitted with a key, never whether a keyless request is.
On a non-loopback address open mode would hand every memory to whoever reaches the
port, so it is refused unless ``auth.allow_open`` says so explicitly.
"""

from __future__ import annotations

import ipaddress
import logging

from proxy.auth.config import AuthConfig
from proxy.auth.keys import KeyStoreProtocol

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


def decide_open(host: str, store: KeyStoreProtocol, auth: AuthConfig) -> bool:
    """Whether this server runs open, decided once at start-up (and logged).

    Raises :class:`InsecureBind` when open mode would be on for a non-loopback ``host``
    without ``auth.allow_open``. A key store that cannot be read raises too (for
    PostgreSQL, :class:`memory_core.postgres.DatabaseError`): never open by default.
    """
    is_open = open_mode(host, store, auth)
    if not is_open:
        log.info("API keys required on every request (key store %s)", store.location)
        return False
    loopback = is_loopback(host)
    why = "auth.open is true" if auth.open else "no API key exists yet"
    where = f"loopback {host}" if loopback else f"{host} (auth.allow_open is set: anyone who can reach it)"
    log.warning("running OPEN on %s (%s): requests without a key use the default tenant until this server "
                "restarts; set auth.open: false to require keys", where, why)
    return True


def open_mode(host: str, store: KeyStoreProtocol, auth: AuthConfig) -> bool:
    """:func:`decide_open` without the log line (the command line checks before starting)."""
    is_open = auth.open if auth.open is not None else not store.has_any_keys()
    if is_open and not is_loopback(host) and not auth.allow_open:
        reason = "auth.open is true" if auth.open else "no API key was ever created"
        raise InsecureBind(
            f"refusing to listen on {host} without requiring API keys ({reason}): anyone reaching it could "
            "read every memory. Create a key with `memproxy keys create` (and leave auth.open unset or false), "
            "listen on 127.0.0.1, or set `auth: {allow_open: true}` in the config if you really mean it."
        )
    return is_open
