"""The route table of docs/api.md (under `<!-- http-routes -->`) against the contract: every
RPC of the services the server registers has one row, with the verb and path its
google.api.http annotation gives and the gateway serves, and no row names an RPC or a route
the contract does not have."""

from __future__ import annotations

import re

from google.protobuf import descriptor_pool

from server.grpc_api.server import SERVICE_NAMES
from server.http_gateway.routes import routes_for, unannotated
from tests.support.paths import ROOT

MARKER = "<!-- http-routes -->"
ROW = re.compile(r"^\| `(?P<service>\w+)/(?P<method>\w+)` \| `(?P<verb>[A-Z]+) (?P<path>/\S+)` \|")


def contract_routes() -> dict[str, tuple[str, str]]:
    """`Service/Method` -> (verb, path) for every route the gateway serves."""
    services = [descriptor_pool.Default().FindServiceByName(name) for name in SERVICE_NAMES]
    assert not unannotated(services), f"methods without a google.api.http route: {unannotated(services)}"
    routes = {}
    for route in routes_for(services):
        service, method = route.method.rsplit("/", 2)[-2:]
        routes[f"{service.rsplit('.', 1)[-1]}/{method}"] = (route.verb, route.template)
    return routes


def documented_routes() -> dict[str, tuple[str, str]]:
    """The rows of the table that follows the marker; a row of another shape fails."""
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert page.count(MARKER) == 1, f"docs/api.md marks its route table with one {MARKER}"
    table = page.split(MARKER, 1)[1].strip().split("\n\n", 1)[0].splitlines()
    assert table[0].startswith("| RPC | HTTP |") and set(table[1]) <= set("|- "), table[:2]
    documented: dict[str, tuple[str, str]] = {}
    for row in table[2:]:
        match = ROW.match(row)
        assert match, f"a route row is not '| `Service/Method` | `VERB /path` | notes |': {row}"
        name = f"{match['service']}/{match['method']}"
        assert name not in documented, f"{name} has two rows"
        documented[name] = (match["verb"], match["path"])
    return documented


def test_the_route_table_lists_every_rpc_with_its_route_and_no_other() -> None:
    contract, documented = contract_routes(), documented_routes()
    missing = {name: route for name, route in contract.items() if documented.get(name) != route}
    invented = {name: route for name, route in documented.items() if contract.get(name) != route}
    assert not missing, f"add (or correct) these rows of docs/api.md's route table: {missing}"
    assert not invented, f"docs/api.md lists routes the contract does not have: {invented}"
    # The routes a reader most needs beside the spec's two are there (and the table is no stub).
    assert {path for _, path in documented.values()} >= {
        "/api/v1/publish/instagram/carousel", "/api/v1/publish/tiktok/carousel",
        "/api/v1/publishes/{id}:cancel", "/api/v1/publishes/{id}:reschedule", "/api/v1/publishes:watch",
        "/api/v1/webhooks", "/api/v1/webhooks/{webhook_id}/deliveries",
    }
