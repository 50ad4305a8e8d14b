"""Who is calling: the workspace an RPC acts in, set by the interceptor once it authenticated the call."""

from __future__ import annotations

import contextvars

import grpc

DEFAULT_WORKSPACE = "default"

current_workspace: contextvars.ContextVar[str] = contextvars.ContextVar("workspace", default=DEFAULT_WORKSPACE)


def workspace_of(context: grpc.aio.ServicerContext) -> str:
    """The caller's workspace (the default one when the service runs without authentication)."""
    return current_workspace.get()
