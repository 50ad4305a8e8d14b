"""Readiness: the gRPC health status follows the database. A replica that cannot reach its
store reports NOT_SERVING (load balancers and probes route around it; calls that need the
store fail with UNAVAILABLE and change nothing), and SERVING again once it can."""

from __future__ import annotations

import asyncio
import logging

from grpc_health.v1 import health, health_pb2

from server.domain.errors import DomainError
from server.domain.ports import Store
from server.services.background import BackgroundLoop

log = logging.getLogger("distribution.health")

# How often the store is asked, and how long an answer may take.
CHECK_EVERY = 2.0
CHECK_TIMEOUT = 2.0


class StoreHealth:
    def __init__(self, store: Store, servicer: health.aio.HealthServicer, services: tuple[str, ...]) -> None:
        self._store = store
        self._servicer = servicer
        self._names = ("", *services)
        self._serving: bool | None = None
        self._background = BackgroundLoop("store-health", self._watch)

    async def set_serving(self, serving: bool) -> None:
        if serving == self._serving:
            return
        self._serving = serving
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in self._names:
            await self._servicer.set(name, status)
        if serving:
            log.info("serving")
        else:
            log.warning("the database cannot be reached: NOT_SERVING until it can")

    def start(self) -> None:
        self._background.start()

    async def stop(self) -> None:
        await self._background.stop()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY)
            try:
                await asyncio.wait_for(self._store.ping(), CHECK_TIMEOUT)
                reachable = True
            except (DomainError, TimeoutError):
                reachable = False
            await self.set_serving(reachable)
