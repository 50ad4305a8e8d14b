"""Server reflection that can also describe a single method.

grpcio-reflection asks the descriptor pool for the file containing a symbol, and the
default (upb) pool does not resolve method names such as
`distribution.v1.PublishingService.PublishInstagramCarousel` (grpc/grpc#34743), so
`grpcurl describe <method>` failed. This pool view answers a method name with its
service's file and delegates everything else.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor_pool
from grpc_reflection.v1alpha import reflection


class _MethodAwarePool:
    def __init__(self, pool: descriptor_pool.DescriptorPool) -> None:
        self._pool = pool

    def FindFileContainingSymbol(self, symbol: str) -> Any:
        try:
            return self._pool.FindFileContainingSymbol(symbol)
        except KeyError:
            service, _, method = symbol.rpartition(".")
            descriptor = self._pool.FindServiceByName(service)  # raises KeyError if not a service either
            if method not in descriptor.methods_by_name:
                raise
            return descriptor.file

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def enable(service_names: tuple[str, ...], server: grpc.aio.Server) -> None:
    names = (*service_names, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server, pool=_MethodAwarePool(descriptor_pool.Default()))
