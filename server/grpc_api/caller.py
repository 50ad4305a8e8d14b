"""Who is calling: the workspace an RPC acts in, set by the Authentication interceptor."""

from __future__ import annotations

import contextvars

import grpc

DEFAULT_WORKSPACE = "default"

# Unset until the call is authenticated (so a refused call's log line names no workspace).
current_workspace: contextvars.ContextVar[str | None] = contextvars.ContextVar("workspace", default=None)


def workspace_of(context: grpc.aio.ServicerContext) -> str:
    """The caller's workspace (the default one when the service runs without authentication)."""
    workspace = current_workspace.get()
    if workspace is None:
        raise RuntimeError("the call was not authenticated: the Authentication interceptor is missing")
    return workspace
