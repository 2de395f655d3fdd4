"""The ``auth`` section of the configuration: API keys, quotas and the open mode.

    auth:
      open: null                 # null: open only if no key was ever created (decided at start-up)
      allow_open: false          # allow open mode on a non-loopback address (don't)
      monthly_quota: 100000      # requests per key and calendar month (UTC); off when unset
      rate_limit_per_minute: 600 # requests per key and minute; off when unset
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class AuthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys_path: Path | None = Field(None, description="The key store; default <memory.data_dir>/keys.sqlite3.")
    open: bool | None = Field(
        None,
        description="Serve requests that carry no memproxy key as the default tenant. true: always; false: "
        "never (every request needs a key); null: only if the key store has never held a key, decided once "
        "at start-up (creating or revoking keys later never changes a running server).",
    )
    allow_open: bool = Field(
        False, description="Allow open mode on a non-loopback address (anyone who reaches it reads every memory)."
    )
    monthly_quota: int | None = Field(
        None, ge=1, description="Requests per key and calendar month (UTC) for keys created without --quota."
    )
    rate_limit_per_minute: int | None = Field(None, ge=1, description="Requests per key and minute.")

    def resolved_keys_path(self, data_dir: Path) -> Path:
        return self.keys_path or Path(data_dir) / "keys.sqlite3"
