"""Authentication: the workspace a call acts in, from its API key or client certificate.

A call presents `authorization: Bearer <api key>`; the key's hash is compared in constant
time against every configured hash. With mutual TLS, a client certificate whose common
name is mapped to a workspace authenticates the call by itself. Health and reflection
stay open for probes and grpcurl. With neither keys nor mTLS configured the service runs
open, in one default workspace (allowed on loopback only, unless explicitly insecure).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from server.domain.errors import Unauthenticated
from server.grpc_api.caller import DEFAULT_WORKSPACE, current_workspace
from server.grpc_api.interceptors.wrapping import Stream, Unary, WrappingInterceptor
from server.grpc_api.keys import KeyRing

# Methods any client may call without credentials.
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class Authentication(WrappingInterceptor):
    def __init__(self, ring: KeyRing) -> None:
        super().__init__()
        self._ring = ring

    def wrap_unary(self, method: str, behavior: Unary) -> Unary:
        async def authenticated(request: Any, context: grpc.aio.ServicerContext) -> Any:
            current_workspace.set(authenticate(self._ring, method, context))
            return await behavior(request, context)

        return authenticated

    def wrap_stream(self, method: str, behavior: Stream) -> Stream:
        async def authenticated(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            current_workspace.set(authenticate(self._ring, method, context))
            async for response in behavior(request, context):
                yield response

        return authenticated


def _bearer(metadata: tuple[tuple[str, str | bytes], ...] | None) -> str | None:
    for key, value in metadata or ():
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, credential = text.strip().partition(" ")
            return credential.strip() if scheme.lower() == "bearer" else ""
    return None


def authenticate(ring: KeyRing, method: str, context: grpc.aio.ServicerContext) -> str:
    """The workspace the call acts in, or Unauthenticated. Never echoes what was presented."""
    if method.startswith(OPEN_METHOD_PREFIXES):
        return DEFAULT_WORKSPACE
    if not ring.enabled:
        return DEFAULT_WORKSPACE
    key = _bearer(context.invocation_metadata())
    if key:
        workspace = ring.workspace_for_key(key)
        if workspace is None:
            raise Unauthenticated(
                reason="API_KEY_INVALID",
                message="The API key is not valid; send a key configured for your workspace",
            )
        return workspace
    if ring.mtls:
        auth = context.auth_context() or {}
        for name in auth.get("x509_common_name", []):
            workspace = ring.client_workspaces.get(name.decode(errors="replace"))
            if workspace is not None:
                return workspace
    if key == "":
        raise Unauthenticated(
            reason="API_KEY_MALFORMED", message="The authorization metadata must be 'Bearer <api key>'"
        )
    raise Unauthenticated(
        reason="CREDENTIALS_MISSING",
        message="This call needs 'authorization: Bearer <api key>' metadata (or a mapped client certificate)",
    )
