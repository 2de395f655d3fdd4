"""API keys, tenants and the open-mode rule.

    store = key_store(config.keys_path, pool)   # SQLite in the data directory; PostgreSQL when pool is given
    is_open = decide_open(host, store, config.auth)                    # once; may raise InsecureBind
    auth = Authenticator(store, open_mode=is_open, open_tenant=config.memory.tenant,
                         monthly_quota=config.auth.monthly_quota,
                         rate_limit_per_minute=config.auth.rate_limit_per_minute)
    principal = await auth.principal(request)                           # .tenant, .key_id
"""

from proxy.auth.authenticator import Authenticator, Principal, credentials
from proxy.auth.bind import InsecureBind, decide_open, is_loopback, open_mode
from proxy.auth.config import AuthConfig
from proxy.auth.keys import ApiKey, KeyStore, KeyStoreError, KeyStoreProtocol
from proxy.auth.stores import key_store, rate_limiter

__all__ = [
    "ApiKey", "AuthConfig", "Authenticator", "InsecureBind", "KeyStore", "KeyStoreError", "KeyStoreProtocol",
    "Principal", "credentials", "decide_open", "is_loopback", "key_store", "open_mode", "rate_limiter",
]
