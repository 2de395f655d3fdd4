"""Which tenant a request's memories belong to, decided in this one place.

Today every chat request uses the memory config's tenant. When API keys arrive
(``Authorization: Bearer mk_...`` mapped to tenants), only this class changes.
"""

from __future__ import annotations

from starlette.requests import Request


class Tenancy:
    def __init__(self, default: str) -> None:
        self.default = default

    def tenant_for(self, request: Request) -> str:
        return self.default
