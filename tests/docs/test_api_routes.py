"""The route table of docs/api.md against the contract: every RPC of the four services has
one row, with the verb and path its google.api.http annotation gives, and no row names an
RPC or a route the contract does not have."""

from __future__ import annotations

import re

from distribution.v1 import (
    account_service_pb2,
    media_service_pb2,
    publishing_service_pb2,
    webhook_service_pb2,
)

from server.http_gateway.routes import http_rule
from tests.support.paths import ROOT

MODULES = (account_service_pb2, media_service_pb2, publishing_service_pb2, webhook_service_pb2)
ROW = re.compile(r"^\| `(\w+)/(\w+)` \| `(GET|POST|DELETE|PATCH|PUT) (/\S+)` \|", re.MULTILINE)


def contract_routes() -> dict[str, tuple[str, str]]:
    routes = {}
    for module in MODULES:
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                rule = http_rule(method)
                assert rule is not None, f"{service.name}/{method.name} has no google.api.http route"
                verb = rule.WhichOneof("pattern")
                routes[f"{service.name}/{method.name}"] = (verb.upper(), getattr(rule, verb))
    return routes


def documented_routes() -> dict[str, tuple[str, str]]:
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    rows = ROW.findall(page)
    documented = {f"{service}/{method}": (verb, path) for service, method, verb, path in rows}
    assert len(documented) == len(rows), "an RPC has two rows in docs/api.md"
    return documented


def test_the_route_table_lists_every_rpc_with_its_route() -> None:
    assert documented_routes() == contract_routes()
