"""Per-caller admission: at most `limit` calls in flight per workspace, so one caller
cannot starve the others. Runs after Authentication, which names the workspace."""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator
from typing import Any

import grpc

from server.domain.errors import ResourceExhausted
from server.grpc_api.caller import current_workspace
from server.grpc_api.interceptors.wrapping import Stream, Unary, WrappingInterceptor


class CallerLimits(WrappingInterceptor):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self._in_flight: collections.Counter[str] = collections.Counter()

    def _acquire(self) -> str:
        workspace = current_workspace.get() or ""
        if self._in_flight[workspace] >= self.limit:
            # Frees as the caller's calls in flight end: a short RetryInfo.
            raise ResourceExhausted.frees_with_time(
                reason="CALLER_CONCURRENCY_LIMIT",
                message=f"Too many concurrent calls from this caller (limit {self.limit}); retry shortly",
                retry_after=1.0,
                metadata={"limit": str(self.limit)},
            )
        self._in_flight[workspace] += 1
        return workspace

    def _release(self, workspace: str) -> None:
        self._in_flight[workspace] -= 1
        if self._in_flight[workspace] <= 0:
            del self._in_flight[workspace]

    def wrap_unary(self, method: str, behavior: Unary) -> Unary:
        async def admitted(request: Any, context: grpc.aio.ServicerContext) -> Any:
            workspace = self._acquire()
            try:
                return await behavior(request, context)
            finally:
                self._release(workspace)

        return admitted

    def wrap_stream(self, method: str, behavior: Stream) -> Stream:
        async def admitted(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            workspace = self._acquire()
            try:
                async for response in behavior(request, context):
                    yield response
            finally:
                self._release(workspace)

        return admitted
