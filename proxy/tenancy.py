"""Which tenant a request's memories belong to, decided in this one place: the tenant
of the caller's API key (or the configured tenant in open mode)."""

from __future__ import annotations

from starlette.requests import Request

from proxy.auth import Authenticator


class Tenancy:
    def __init__(self, auth: Authenticator) -> None:
        self.auth = auth

    async def tenant_for(self, request: Request) -> str:
        return (await self.auth.principal(request)).tenant
