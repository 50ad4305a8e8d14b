"""StartAccountConnection and CompleteAccountConnection between the wire and the domain."""

from __future__ import annotations

from distribution.v1 import account_pb2
from distribution.v1 import account_service_pb2 as pb

from server.domain.connections import CompleteConnection, StartConnection, StartedConnection
from server.domain.models import Platform
from server.grpc_api.converters import enum_in, timestamp_out


def start_request(req: pb.StartAccountConnectionRequest) -> StartConnection:
    return StartConnection(
        platform=enum_in(account_pb2.Platform, req.platform, "PLATFORM_", Platform, "platform"),
        redirect_uri=req.redirect_uri.strip(),
        scopes=tuple(s.strip() for s in req.scopes),
        account_id=req.account_id.strip(),
    )


def start_response(started: StartedConnection) -> pb.StartAccountConnectionResponse:
    return pb.StartAccountConnectionResponse(
        authorization_url=started.authorization_url,
        state=started.state,
        expire_time=timestamp_out(started.expires_at),
        scopes=list(started.scopes),
    )


def complete_request(req: pb.CompleteAccountConnectionRequest) -> CompleteConnection:
    return CompleteConnection(
        state=req.state.strip(), code=req.code.strip(), error=req.error.strip(),
        error_description=req.error_description,
    )
