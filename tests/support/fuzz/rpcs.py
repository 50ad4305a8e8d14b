"""The unary RPCs of the contract, found in the generated `*_pb2_grpc` modules: a new unary
RPC is fuzzed as soon as it is in the contract."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

import distribution.v1
from google.protobuf import descriptor as _descriptor


@dataclass(frozen=True)
class Rpc:
    service: str  # full name, e.g. distribution.v1.AccountService
    name: str  # e.g. ConnectAccount
    input: _descriptor.Descriptor
    output: _descriptor.Descriptor

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.name}"

    @property
    def reads_only(self) -> bool:
        return self.name.startswith(("Get", "List", "BatchGet", "Search", "Watch"))

    def __str__(self) -> str:
        return f"{self.service.rsplit('.', 1)[-1]}.{self.name}"


def discover_rpcs() -> list[Rpc]:
    rpcs: list[Rpc] = []
    for info in sorted(pkgutil.iter_modules(distribution.v1.__path__), key=lambda m: m.name):
        if not info.name.endswith("_pb2_grpc"):
            continue
        importlib.import_module(f"distribution.v1.{info.name}")
        pb2 = importlib.import_module(f"distribution.v1.{info.name.removesuffix('_grpc')}")
        for service in pb2.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if method.client_streaming or method.server_streaming:
                    continue
                rpcs.append(Rpc(service.full_name, method.name, method.input_type, method.output_type))
    return rpcs


RPCS = discover_rpcs()
RPC_BY_NAME = {str(r): r for r in RPCS}
