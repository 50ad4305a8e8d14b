"""Who is calling: the workspace an RPC acts in."""

from __future__ import annotations

import grpc

DEFAULT_WORKSPACE = "default"


def workspace_of(context: grpc.aio.ServicerContext) -> str:
    """The caller's workspace. Without authentication every caller shares the default one."""
    return DEFAULT_WORKSPACE
