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

    def admits(self, method: str, context: grpc.aio.ServicerContext) -> bool:
        """Whether `authenticate` would accept the call (for a transport that checks before
        it reads a request's body)."""
        try:
            authenticate(self._ring, method, context)
        except Unauthenticated:
            return False
        return True

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


_REPEATED = object()


def _bearer(metadata: tuple[tuple[str, str | bytes], ...] | None) -> str | object | None:
    """The API key of `authorization: Bearer <key>`; "" when the value is malformed (another
    scheme, or not printable ASCII text: an HTTP header may carry any bytes); _REPEATED when
    the call carries more than one authorization (which one would count is anyone's guess);
    None when it carries none."""
    values = [value for key, value in metadata or () if key == "authorization"]
    if not values:
        return None
    if len(values) > 1:
        return _REPEATED
    value = values[0]
    text = value.decode("ascii", errors="replace") if isinstance(value, bytes) else value
    if not (text.isascii() and text.isprintable()):
        return ""
    scheme, _, credential = text.strip().partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else ""


def authenticate(ring: KeyRing, method: str, context: grpc.aio.ServicerContext) -> str:
    """The workspace the call acts in, or Unauthenticated. Never echoes what was presented."""
    if method.startswith(OPEN_METHOD_PREFIXES):
        return DEFAULT_WORKSPACE
    if not ring.enabled:
        return DEFAULT_WORKSPACE
    key = _bearer(context.invocation_metadata())
    if key is _REPEATED:
        raise Unauthenticated(
            reason="AUTHORIZATION_REPEATED",
            message="The call carries more than one authorization; send exactly one 'Bearer <api key>'",
        )
    if isinstance(key, str) and key:
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
