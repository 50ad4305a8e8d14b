"""Who may call, what they may see, secrets at rest and in flight, and hostile load."""

from __future__ import annotations

import asyncio
import logging

import grpc
import pytest
from distribution.v1 import (
    account_pb2,
    account_service_pb2,
    account_service_pb2_grpc,
    media_service_pb2,
    media_service_pb2_grpc,
    publish_pb2,
    publishing_service_pb2,
    publishing_service_pb2_grpc,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)

from server.config import ConfigError
from tests.support.client import images
from tests.support.errors import rich_error
from tests.support.processing import LONG, finish_instagram_processing
from tests.support.tls import make_pki
from tests.support.waiting import eventually

KEY_A = "key-for-workspace-a-0123456789"
KEY_B = "key-for-workspace-b-9876543210"
TOKEN = "IGQVJ-SECRET-ACCESS-TOKEN-42"


def auth(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


class Client:
    """Stubs that send one API key on every call."""

    def __init__(self, channel: grpc.aio.Channel, key: str | None) -> None:
        self._metadata = auth(key) if key else None
        self.accounts = account_service_pb2_grpc.AccountServiceStub(channel)
        self.media = media_service_pb2_grpc.MediaServiceStub(channel)
        self.publishing = publishing_service_pb2_grpc.PublishingServiceStub(channel)

    async def connect(self, token: str = TOKEN, external_id: str = "17841400000000077") -> account_pb2.Account:
        response = await self.accounts.ConnectAccount(
            account_service_pb2.ConnectAccountRequest(
                platform=account_pb2.PLATFORM_INSTAGRAM, external_account_id=external_id,
                username="iso", access_token=token,
            ),
            metadata=self._metadata,
        )
        return response.account

    async def register(self, *urls: str) -> list[str]:
        ids = []
        for url in urls:
            response = await self.media.RegisterMedia(
                media_service_pb2.RegisterMediaRequest(url=url), metadata=self._metadata
            )
            ids.append(response.media.id)
        return ids

    async def publish(
        self, account_id: str, media_ids: list[str], allow_duplicate: bool = False
    ) -> publishing_service_pb2.PublishInstagramCarouselResponse:
        return await self.publishing.PublishInstagramCarousel(
            publishing_service_pb2.PublishInstagramCarouselRequest(
                media_ids=media_ids, instagram_account_id=account_id, allow_duplicate=allow_duplicate
            ),
            metadata=self._metadata,
        )

    @property
    def metadata(self):
        return self._metadata


@pytest.fixture
async def keyed_service(start_service):
    return await start_service(api_keys=f"alpha={KEY_A},beta={KEY_B}")


@pytest.fixture
async def keyed_channel(keyed_service):
    async with grpc.aio.insecure_channel(keyed_service.address) as channel:
        yield channel


async def test_no_call_succeeds_without_a_valid_key(keyed_channel, caplog):
    anonymous = Client(keyed_channel, None)
    wrong = Client(keyed_channel, "not-a-configured-key-000000")
    calls = [
        lambda c: c.connect(),
        lambda c: c.register("gs://b/x.jpg"),
        lambda c: c.accounts.ListAccounts(account_service_pb2.ListAccountsRequest(), metadata=c.metadata),
        lambda c: c.accounts.GetAccount(account_service_pb2.GetAccountRequest(id="x"), metadata=c.metadata),
        lambda c: c.media.ListMedia(media_service_pb2.ListMediaRequest(), metadata=c.metadata),
        lambda c: c.publish("x", ["y"]),
    ]
    with caplog.at_level(logging.WARNING, logger="distribution.rpc"):
        for client in (anonymous, wrong):
            for call in calls:
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await call(client)
                assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
                assert rich_error(info.value).reason in ("CREDENTIALS_MISSING", "API_KEY_INVALID")
    refusals = [r for r in caplog.records if r.getMessage() == "refused unauthenticated call"]
    assert {r.method for r in refusals} >= {
        "/distribution.v1.AccountService/ConnectAccount",
        "/distribution.v1.PublishingService/PublishInstagramCarousel",
    }
    assert "not-a-configured-key" not in caplog.text


async def test_malformed_authorization_is_unauthenticated(keyed_channel):
    stub = account_service_pb2_grpc.AccountServiceStub(keyed_channel)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.ListAccounts(account_service_pb2.ListAccountsRequest(), metadata=(("authorization", "Basic abc"),))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert rich_error(info.value).reason == "API_KEY_MALFORMED"


async def test_two_authorizations_are_unauthenticated_whichever_comes_first(keyed_channel):
    """One call, one credential: with two, which one counts is not the caller's guess to make."""
    stub = account_service_pb2_grpc.AccountServiceStub(keyed_channel)
    for pair in ((f"Bearer {KEY_A}", "Bearer not-a-configured-key-000"), (f"Bearer {KEY_A}", f"Bearer {KEY_B}")):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.ListAccounts(account_service_pb2.ListAccountsRequest(),
                                    metadata=tuple(("authorization", value) for value in pair))
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert rich_error(info.value).reason == "AUTHORIZATION_REPEATED"


async def test_workspaces_are_isolated(keyed_channel, instagram_sandbox):
    alpha, beta = Client(keyed_channel, KEY_A), Client(keyed_channel, KEY_B)
    account = await alpha.connect()
    media_ids = await alpha.register(*images(2))
    published = await alpha.publish(account.id, media_ids)
    assert published.ig_media_id

    for call in (
        beta.accounts.GetAccount(account_service_pb2.GetAccountRequest(id=account.id), metadata=beta.metadata),
        beta.media.GetMedia(media_service_pb2.GetMediaRequest(id=media_ids[0]), metadata=beta.metadata),
        beta.accounts.DisconnectAccount(
            account_service_pb2.DisconnectAccountRequest(id=account.id), metadata=beta.metadata
        ),
        beta.publish(account.id, media_ids),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call
        assert info.value.code() == grpc.StatusCode.NOT_FOUND

    # beta's own account cannot use alpha's media either.
    beta_account = await beta.connect(token="beta-token", external_id="17841400000000088")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await beta.publish(beta_account.id, media_ids)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert rich_error(info.value).reason == "MEDIA_NOT_FOUND"

    listed = await beta.accounts.ListAccounts(
        account_service_pb2.ListAccountsRequest(show_disconnected=True), metadata=beta.metadata
    )
    assert [a.id for a in listed.accounts] == [beta_account.id]
    media_list = await beta.media.ListMedia(media_service_pb2.ListMediaRequest(), metadata=beta.metadata)
    assert list(media_list.media) == []
    # The same platform account connected by both workspaces stays two accounts.
    assert (await alpha.accounts.GetAccount(
        account_service_pb2.GetAccountRequest(id=account.id), metadata=alpha.metadata
    )).account.state == account_pb2.ACCOUNT_STATE_ACTIVE
    assert len(instagram_sandbox.posts()) == 1


async def test_no_token_in_database_file_logs_or_errors_after_publish_and_failure(
    keyed_service, keyed_channel, instagram_sandbox, settings, caplog
):
    alpha = Client(keyed_channel, KEY_A)
    with caplog.at_level(logging.DEBUG):
        account = await alpha.connect()
        await alpha.publish(account.id, await alpha.register(*images(2)))
        instagram_sandbox.revoke_token(TOKEN)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await alpha.publish(account.id, await alpha.register(*images(2, prefix="gs://b/second")))
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # the token was refused
        assert TOKEN not in (info.value.details() or "")
        for _key, value in info.value.trailing_metadata() or ():
            assert TOKEN.encode() not in (value if isinstance(value, bytes) else value.encode())
    assert TOKEN not in caplog.text
    assert KEY_A not in caplog.text
    raw = b"".join(
        p.read_bytes() for p in settings.db_path.parent.iterdir() if p.name.startswith(settings.db_path.name)
    )
    assert TOKEN.encode() not in raw
    assert oct(settings.key_file.stat().st_mode & 0o777) == "0o600"


async def test_tls(start_service, tmp_path):
    pki = make_pki(tmp_path)
    service = await start_service(tls_cert=str(pki.server_cert), tls_key=str(pki.server_key))
    credentials = grpc.ssl_channel_credentials(root_certificates=pki.ca_cert.read_bytes())
    async with grpc.aio.secure_channel(f"localhost:{service.port}", credentials) as channel:
        account = await Client(channel, None).connect()
        assert account.id
    # A plaintext client cannot talk to the TLS port.
    async with grpc.aio.insecure_channel(service.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await Client(channel, None).connect()
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_mutual_tls_maps_the_client_certificate_to_a_workspace(start_service, tmp_path):
    pki = make_pki(tmp_path)
    service = await start_service(
        tls_cert=str(pki.server_cert), tls_key=str(pki.server_key), tls_client_ca=str(pki.ca_cert),
        tls_client_workspaces="billing-service=billing",
    )
    with_cert = grpc.ssl_channel_credentials(
        root_certificates=pki.ca_cert.read_bytes(),
        private_key=pki.client_key.read_bytes(),
        certificate_chain=pki.client_cert.read_bytes(),
    )
    async with grpc.aio.secure_channel(f"localhost:{service.port}", with_cert) as channel:
        client = Client(channel, None)
        account = await client.connect()
        listed = await client.accounts.ListAccounts(account_service_pb2.ListAccountsRequest())
        assert [a.id for a in listed.accounts] == [account.id]

    without_cert = grpc.ssl_channel_credentials(root_certificates=pki.ca_cert.read_bytes())
    async with grpc.aio.secure_channel(f"localhost:{service.port}", without_cert) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await Client(channel, None).connect()
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_refuses_to_start_open_on_a_non_loopback_address(start_service):
    with pytest.raises(ConfigError, match="without authentication"):
        await start_service(listen="0.0.0.0:0")


async def test_one_caller_cannot_exhaust_the_server(start_service, instagram_sandbox):
    instagram_sandbox.config.processing_delay = LONG  # the publishes stay in flight until finished below
    service = await start_service(api_keys=f"alpha={KEY_A},beta={KEY_B}", max_concurrent_per_caller=2)
    async with grpc.aio.insecure_channel(service.address) as channel:
        alpha, beta = Client(channel, KEY_A), Client(channel, KEY_B)
        account = await alpha.connect()
        media_ids = await alpha.register(*images(2))
        calls = [
            asyncio.ensure_future(alpha.publish(account.id, media_ids, allow_duplicate=True)) for _ in range(3)
        ]
        [refused] = await eventually(lambda: [c for c in calls if c.done()], "one publish to be refused at once")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            refused.result()
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        err = rich_error(caught.value)
        assert err.reason == "CALLER_CONCURRENCY_LIMIT" and err.retry_delay_seconds == 1.0
        # Another caller is still served meanwhile.
        assert (await beta.connect(token="b", external_id="17841400000000099")).id

        def admitted_done() -> bool:
            finish_instagram_processing(instagram_sandbox)  # the carousel containers too, once made
            return all(c.done() for c in calls)

        await eventually(admitted_done, "the admitted publishes to finish")
        assert [c.result().state for c in calls if c is not refused] == [publish_pb2.PUBLISH_STATE_PUBLISHED] * 2


async def test_webhooks_and_the_event_stream_need_a_key_and_stay_in_their_workspace(
    keyed_channel, instagram_sandbox
):
    hooks = webhook_service_pb2_grpc.WebhookServiceStub(keyed_channel)
    publishing = publishing_service_pb2_grpc.PublishingServiceStub(keyed_channel)
    create = webhook_service_pb2.CreateWebhookRequest(url="https://hooks.example.com/in")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await hooks.CreateWebhook(create)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in publishing.WatchPublishes(publishing_service_pb2.WatchPublishesRequest()):
            pass
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED

    created = await hooks.CreateWebhook(create, metadata=auth(KEY_A))
    listed = await hooks.ListWebhooks(webhook_service_pb2.ListWebhooksRequest(), metadata=auth(KEY_B))
    assert list(listed.webhooks) == []
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await hooks.GetWebhook(webhook_service_pb2.GetWebhookRequest(id=created.webhook.id), metadata=auth(KEY_B))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND

    # Beta's stream sees none of alpha's events.
    beta_stream = publishing.WatchPublishes(publishing_service_pb2.WatchPublishesRequest(), metadata=auth(KEY_B))
    alpha_stream = publishing.WatchPublishes(publishing_service_pb2.WatchPublishesRequest(), metadata=auth(KEY_A))
    await beta_stream.initial_metadata()
    await alpha_stream.initial_metadata()
    alpha = Client(keyed_channel, KEY_A)
    await alpha.publish((await alpha.connect()).id, await alpha.register("gs://b/w1.jpg", "gs://b/w2.jpg"))
    first = await alpha_stream.read()
    assert first.event.type == "CREATED"
    # Then beta publishes: the first event beta's stream gives is beta's own.
    beta = Client(keyed_channel, KEY_B)
    mine = await beta.publish((await beta.connect()).id, await beta.register("gs://b/w3.jpg", "gs://b/w4.jpg"))
    seen = await beta_stream.read()
    assert (seen.publish.id, seen.event.type) == (mine.instagram_publish_id, "CREATED")
    alpha_stream.cancel()
    beta_stream.cancel()
