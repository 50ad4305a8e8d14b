"""The gRPC server factory, in the shape of grpc's own examples: build the server with its
servicers, interceptors, health and reflection, bind it, and hand it back unstarted."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import grpc
from distribution.v1 import (
    account_service_pb2,
    account_service_pb2_grpc,
    media_service_pb2,
    media_service_pb2_grpc,
    publishing_service_pb2,
    publishing_service_pb2_grpc,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)
from grpc_health.v1 import health, health_pb2_grpc

from server.grpc_api import reflection
from server.grpc_api.inprocess import HandlerRegistry, InProcessCalls
from server.grpc_api.interceptors import AccessLog, Authentication, CallerLimits, RequestDecoding
from server.grpc_api.interceptors.access import RpcObserver
from server.grpc_api.keys import KeyRing
from server.grpc_api.rendered import RenderedPublishes
from server.grpc_api.servicers.accounts import AccountServicer
from server.grpc_api.servicers.media import MediaServicer
from server.grpc_api.servicers.publishing import PublishingServicer
from server.grpc_api.servicers.webhooks import WebhookServicer
from server.services.accounts import Accounts
from server.services.connections import Connections
from server.services.events import WorkspaceEvents
from server.services.history import PublishHistory
from server.services.media import MediaLibrary
from server.services.publishing import Publisher
from server.services.webhooks import Webhooks

SERVICE_NAMES = (
    account_service_pb2.DESCRIPTOR.services_by_name["AccountService"].full_name,
    media_service_pb2.DESCRIPTOR.services_by_name["MediaService"].full_name,
    publishing_service_pb2.DESCRIPTOR.services_by_name["PublishingService"].full_name,
    webhook_service_pb2.DESCRIPTOR.services_by_name["WebhookService"].full_name,
)

# Requests here are ids and short texts; nothing legitimate comes near this.
MAX_MESSAGE_BYTES = 1 * 1024 * 1024
MAX_PENDING_REQUESTS = 10_000
# grpc binds with SO_REUSEPORT by default: a second process on the same address would then
# share the port (and its calls) with the first instead of failing to start.
NO_SHARED_PORT = ("grpc.so_reuseport", 0)


@dataclass(frozen=True)
class UseCases:
    """What the servicers call."""

    accounts: Accounts
    media: MediaLibrary
    publisher: Publisher
    history: PublishHistory
    events: WorkspaceEvents
    webhooks: Webhooks | None = None
    # None: accounts connect only with ConnectAccount (a server built without the connect flows).
    connections: Connections | None = None


@dataclass(frozen=True)
class TlsFiles:
    """PEM contents: the server's key and certificate chain, and for mutual TLS the CA that
    signs client certificates."""

    key: bytes
    certificate: bytes
    client_ca: bytes | None = None


@dataclass(frozen=True)
class ServerOptions:
    listen: str
    key_ring: KeyRing
    max_concurrent_per_caller: int
    list_cache_entries: int
    tls: TlsFiles | None = None
    observe: RpcObserver | None = None
    # Tracing's server span per call over the socket (continuing the caller's traceparent);
    # a call through the HTTP gateway has the gateway's span instead, so never two.
    tracing: grpc.aio.ServerInterceptor | None = None


@dataclass
class GrpcServer:
    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    # The same methods, called in process through the same interceptors (the HTTP gateway).
    calls: InProcessCalls


@dataclass
class HealthPort:
    """A plaintext server answering only grpc.health.v1, for probes without credentials."""

    server: grpc.aio.Server
    port: int


def build_grpc_server(use_cases: UseCases, options: ServerOptions) -> GrpcServer:
    """The server, bound to `options.listen` (port 0 picks a free one) but not started.
    Raises OSError when the address cannot be bound."""
    authentication = Authentication(options.key_ring)
    interceptors = [
        AccessLog(options.observe),
        authentication,
        CallerLimits(options.max_concurrent_per_caller),
        RequestDecoding(),
    ]
    server = grpc.aio.server(
        interceptors=interceptors if options.tracing is None else [options.tracing, *interceptors],
        options=[
            NO_SHARED_PORT,
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            # grpc core cancels calls once more than 1,000 wait to be picked up; a burst of
            # publishes (bench case 2: 2,000 at once) must lose none.
            ("grpc.server.max_pending_requests", MAX_PENDING_REQUESTS),
            ("grpc.server.max_pending_requests_hard_limit", 2 * MAX_PENDING_REQUESTS),
            ("grpc.max_send_message_length", 16 * MAX_MESSAGE_BYTES),
        ],
    )
    registry = HandlerRegistry(server)  # keeps each method's handler for in-process calls
    account_service_pb2_grpc.add_AccountServiceServicer_to_server(
        AccountServicer(use_cases.accounts, use_cases.connections), registry
    )
    media_service_pb2_grpc.add_MediaServiceServicer_to_server(MediaServicer(use_cases.media), registry)
    publishing_service_pb2_grpc.add_PublishingServiceServicer_to_server(
        PublishingServicer(
            use_cases.publisher, use_cases.history, RenderedPublishes(options.list_cache_entries), use_cases.events
        ),
        registry,
    )
    webhook_service_pb2_grpc.add_WebhookServiceServicer_to_server(WebhookServicer(use_cases.webhooks), registry)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable((*SERVICE_NAMES, health.SERVICE_NAME), server)
    port = _bind(server, options.listen, options.tls)
    return GrpcServer(server, port, health_servicer, InProcessCalls(interceptors, registry.handlers, authentication))


def build_health_server(
    health_servicer: health.aio.HealthServicer, listen: str, observe: RpcObserver | None = None
) -> HealthPort:
    """A plaintext server on `listen` with only the given health servicer (the main
    server's, so both answer the same status), bound but not started. Raises OSError when
    the address cannot be bound."""
    server = grpc.aio.server(
        interceptors=[AccessLog(observe), RequestDecoding()],
        # Health requests are a service name; a probe needs one stream at a time.
        options=[NO_SHARED_PORT, ("grpc.max_receive_message_length", 4096), ("grpc.max_concurrent_streams", 16)],
    )
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    return HealthPort(server, _bind(server, listen, None))


def _bind(server: grpc.aio.Server, listen: str, tls: TlsFiles | None) -> int:
    try:
        if tls is None:
            port = server.add_insecure_port(listen)
        else:
            credentials = grpc.ssl_server_credentials(
                [(tls.key, tls.certificate)],
                root_certificates=tls.client_ca,
                require_client_auth=tls.client_ca is not None,
            )
            port = server.add_secure_port(listen, credentials)
    except RuntimeError:  # grpc's "Failed to bind to address", which gives no reason
        raise _why_not_bindable(listen) from None
    if port == 0:
        raise _why_not_bindable(listen)
    return int(port)


def _why_not_bindable(listen: str) -> OSError:
    """grpc says only that it could not bind: bind the address once more, the same way but
    alone, to learn the OS's reason (in use, not permitted, not an address of this host)."""
    host, _, port = listen.rpartition(":")
    try:
        found = socket.getaddrinfo(host.strip("[]"), int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as err:  # socket.gaierror: the host name does not resolve
        return err
    for family, kind, proto, _, address in found:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as err:
                return err
    return OSError(f"grpc could not listen on {listen}")
