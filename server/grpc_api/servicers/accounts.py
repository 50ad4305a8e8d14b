"""AccountService."""

from __future__ import annotations

import grpc
from distribution.v1 import account_service_pb2 as pb
from distribution.v1 import account_service_pb2_grpc

from server.domain.errors import FailedPrecondition
from server.grpc_api import connection_converters, converters
from server.grpc_api.caller import workspace_of
from server.services.accounts import Accounts
from server.services.connections import Connections


class AccountServicer(account_service_pb2_grpc.AccountServiceServicer):
    def __init__(self, accounts: Accounts, connections: Connections | None) -> None:
        self._accounts = accounts
        self._connections = connections

    async def ConnectAccount(
        self, request: pb.ConnectAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.ConnectAccountResponse:
        account = await self._accounts.connect(workspace_of(context), converters.connect_request(request))
        return pb.ConnectAccountResponse(account=converters.account_out(account))

    async def GetAccount(
        self, request: pb.GetAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetAccountResponse:
        account = await self._accounts.get(workspace_of(context), request.id)
        return pb.GetAccountResponse(account=converters.account_out(account))

    async def ListAccounts(
        self, request: pb.ListAccountsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAccountsResponse:
        page = await self._accounts.list_page(
            workspace_of(context),
            request.page_size,
            request.page_token,
            converters.platform_filter(request.platform),
            request.show_disconnected,
        )
        return pb.ListAccountsResponse(
            accounts=[converters.account_out(a) for a in page.items], next_page_token=page.next_page_token
        )

    async def DisconnectAccount(
        self, request: pb.DisconnectAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.DisconnectAccountResponse:
        account = await self._accounts.disconnect(workspace_of(context), request.id)
        return pb.DisconnectAccountResponse(account=converters.account_out(account))

    async def StartAccountConnection(
        self, request: pb.StartAccountConnectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartAccountConnectionResponse:
        started = await self._connect_flows().start(workspace_of(context), connection_converters.start_request(request))
        return connection_converters.start_response(started)

    async def CompleteAccountConnection(
        self, request: pb.CompleteAccountConnectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.CompleteAccountConnectionResponse:
        done = await self._connect_flows().complete(
            workspace_of(context), connection_converters.complete_request(request)
        )
        return pb.CompleteAccountConnectionResponse(
            account=converters.account_out(done.account), reconnected=done.reconnected
        )

    def _connect_flows(self) -> Connections:
        if self._connections is None:
            raise FailedPrecondition(
                reason="CONNECTION_NOT_CONFIGURED",
                message="This server has no connect flows; connect accounts with ConnectAccount",
            )
        return self._connections
