"""HTTP routes read from the contract: each RPC's `google.api.http` annotation (AIP-127).

Nothing here names an RPC: a method added to the proto with an annotation is served as
soon as its service is registered; one without an annotation is listed by `unannotated`
(a test fails on it, so no RPC is left without its HTTP form).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor, descriptor_pool, message_factory

_VERBS = ("get", "put", "post", "delete", "patch")
# A path variable: {id} or {name=publishes/*}; only single segments are used by this API.
_VARIABLE = re.compile(r"\{([a-z_][a-z0-9_.]*)(?:=[^}]*)?\}")


@dataclass(frozen=True)
class Route:
    """One RPC's HTTP form."""

    method: str  # the gRPC method's full name, /package.Service/Method
    verb: str  # upper case: GET, POST, ...
    template: str  # /api/v1/publishes/{id}
    body: str  # "*" (the whole request is the JSON body), a field name, or "" (none)
    fields: tuple[str, ...]  # the request fields bound by the path, in order
    pattern: re.Pattern[str]
    request: descriptor.Descriptor
    response: descriptor.Descriptor
    server_streaming: bool

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return None if found is None else dict(zip(self.fields, found.groups(), strict=True))

    def request_class(self) -> Any:
        return message_factory.GetMessageClass(self.request)

    def response_class(self) -> Any:
        return message_factory.GetMessageClass(self.response)


def http_rule(method: descriptor.MethodDescriptor) -> http_pb2.HttpRule | None:
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return None
    return options.Extensions[annotations_pb2.http]


def _compile(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    fields: list[str] = []
    pattern = ""
    position = 0
    for found in _VARIABLE.finditer(template):
        pattern += re.escape(template[position : found.start()]) + "([^/:]+)"
        fields.append(found.group(1))
        position = found.end()
    pattern += re.escape(template[position:])
    return re.compile(pattern), tuple(fields)


def route_of(method: descriptor.MethodDescriptor) -> Route | None:
    rule = http_rule(method)
    if rule is None:
        return None
    verb = rule.WhichOneof("pattern")
    if verb not in _VERBS:
        return None
    template = getattr(rule, verb)
    pattern, fields = _compile(template)
    return Route(
        method=f"/{method.containing_service.full_name}/{method.name}",
        verb=verb.upper(),
        template=template,
        body=rule.body,
        fields=fields,
        pattern=pattern,
        request=method.input_type,
        response=method.output_type,
        server_streaming=method.server_streaming,
    )


def service_descriptors(methods: Iterable[str]) -> list[descriptor.ServiceDescriptor]:
    """The services of the given registered method names, from the descriptor pool."""
    pool = descriptor_pool.Default()
    names = dict.fromkeys(m.strip("/").split("/")[0] for m in methods)
    return [pool.FindServiceByName(name) for name in names]


def routes_for(services: Iterable[descriptor.ServiceDescriptor]) -> list[Route]:
    """Every annotated method's route, literal paths before templated ones so that
    `/api/v1/publishes` never reads as a publish id."""
    routes = [r for service in services for m in service.methods if (r := route_of(m)) is not None]
    return sorted(routes, key=lambda r: (len(r.fields), r.template))


def unannotated(services: Iterable[descriptor.ServiceDescriptor]) -> list[str]:
    """Full names of methods that have no `google.api.http` annotation."""
    return [m.full_name for service in services for m in service.methods if route_of(m) is None]
