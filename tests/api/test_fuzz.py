"""Property-based fuzzing of every unary RPC against one real in-process server; the
machinery (RPC discovery, strategies, seeds, the world, the property) is tests/support/fuzz/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from distribution.v1 import account_pb2, media_service_pb2, publish_pb2
from distribution.v1.account_service_pb2 import ConnectAccountRequest
from distribution.v1.publishing_service_pb2 import PublishInstagramCarouselRequest
from google.rpc import code_pb2
from grpc_health.v1 import health_pb2
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from server.grpc_api.inprocess import Caller, CallFailed
from server.grpc_api.server import MAX_MESSAGE_BYTES
from tests.support.fuzz.checks import OUTCOMES, Drawn, check_call, is_grpc_size_limit
from tests.support.fuzz.rpcs import RPC_BY_NAME, RPCS, Rpc
from tests.support.fuzz.seeds import plausible_request, seed_requests
from tests.support.fuzz.strategies import message_strategy, set_field
from tests.support.fuzz.values import FD
from tests.support.fuzz.world import World, open_world

MAX_EXAMPLES = 60  # Hypothesis draws per RPC, after the seeds
REQUIRED_RPCS = {
    "AccountService.ConnectAccount", "AccountService.GetAccount", "AccountService.ListAccounts",
    "AccountService.DisconnectAccount", "MediaService.RegisterMedia", "MediaService.GetMedia",
    "MediaService.ListMedia", "PublishingService.PublishInstagramCarousel", "PublishingService.PublishInstagramMedia",
    "PublishingService.PublishTikTokCarousel", "PublishingService.PublishTikTokVideo",
}


def test_every_known_rpc_is_discovered():
    assert set(RPC_BY_NAME) >= REQUIRED_RPCS


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with open_world(tmp_path_factory.mktemp("fuzz")) as started:
        yield started


FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


@pytest.mark.parametrize("rpc", RPCS, ids=str)
def test_fuzz_rpc(world: World, rpc: Rpc) -> None:
    @FUZZ_SETTINGS
    @given(request=message_strategy(rpc.input, rpc.name).map(Drawn))
    def property_holds(request: Drawn) -> None:
        check_call(world, rpc, request.message)

    for seed in reversed(seed_requests(rpc)):
        property_holds = example(request=Drawn(seed))(property_holds)
    property_holds()


@pytest.mark.parametrize("rpc", RPCS, ids=str)
def test_oversized_request_is_refused_by_grpc(world: World, rpc: Rpc) -> None:
    request = plausible_request(rpc.input, rpc.name)
    strings = [f for f in rpc.input.fields if f.type == FD.TYPE_STRING]
    assert strings, f"{rpc} has no string field to inflate"
    f = strings[0]
    oversized = ["A" * 1000] * (MAX_MESSAGE_BYTES // 1000 + 10) if f.is_repeated else "A" * (MAX_MESSAGE_BYTES + 10)
    set_field(request, f, oversized)
    err = check_call(world, rpc, request)
    assert err is not None and is_grpc_size_limit(err), err


# gRPC's C core refuses NUL, control characters and non-ASCII in text metadata on both ends
# (they are not legal HTTP/2 header values); binary (-bin) metadata carries any bytes. So
# over the socket: any bytes in -bin keys, printable ASCII in text keys, in any number.
_BINARY_VALUES = st.one_of(st.binary(max_size=64), st.sampled_from([b"\x00", b"\xff\xfe", b"Bearer \x00\xff", b""]))
HOSTILE_METADATA = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["authorization-bin", "x-request-id-bin", "idempotency-key-bin"]), _BINARY_VALUES),
        st.tuples(st.sampled_from(["authorization", "x-request-id"]),
                  st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200)),
    ),
    max_size=4,
).map(tuple)


@pytest.mark.parametrize("rpc", RPCS, ids=str)
def test_fuzz_rpc_metadata(world: World, rpc: Rpc) -> None:
    """Hostile metadata (NUL and non-UTF-8 bytes where gRPC carries them; repeated keys) never
    gets INTERNAL or UNKNOWN, whatever the request."""
    request = plausible_request(rpc.input, rpc.name)

    @settings(FUZZ_SETTINGS, max_examples=12)
    @given(metadata=HOSTILE_METADATA)
    def property_holds(metadata: tuple[tuple[str, Any], ...]) -> None:
        check_call(world, rpc, request, metadata)

    property_holds()


@pytest.mark.parametrize("rpc", RPCS, ids=str)
def test_nul_and_non_utf8_metadata_reach_the_methods_in_process_without_internal(world: World, rpc: Rpc) -> None:
    """What gRPC's C core never lets through, the HTTP gateway hands over (header bytes
    aiohttp decoded with surrogate escapes): the same methods, through the same chain."""
    calls = world.service.grpc.calls
    request = plausible_request(rpc.input, rpc.name)
    for metadata in (
        (("authorization", "Bearer a\x00b"), ("x-request-id", "\x00")),
        (("authorization", "Bearer \udcff\udcfe"), ("x-request-id", "caf\u00e9\udc80")),
        (("authorization", "Bearer k"), ("authorization", "Bearer \x00")),
    ):
        world.log.take()

        async def call(metadata: tuple[tuple[str, str], ...] = metadata) -> int:
            try:
                await calls.unary(rpc.path, request, Caller(metadata=metadata))
            except CallFailed as failed:
                return int(failed.status.code)
            return code_pb2.OK

        code = world.loop.run(call())
        assert code not in (code_pb2.INTERNAL, code_pb2.UNKNOWN), (rpc, metadata, world.log.take())
        assert not world.log.take(), (rpc, metadata)
        if not rpc.reads_only:
            world.restore()


def test_server_is_healthy_and_publishes_after_fuzzing(world: World) -> None:
    print("outcomes per RPC:", {rpc: dict(counts) for rpc, counts in OUTCOMES.items()})
    health = world.ok("/grpc.health.v1.Health/Check", health_pb2.HealthCheckRequest(service=""))
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    account = world.ok(
        "AccountService.ConnectAccount",
        ConnectAccountRequest(
            platform=account_pb2.PLATFORM_INSTAGRAM,
            external_account_id="17841400000000077",
            username="after_fuzz",
            access_token="after-fuzz-token",
        ),
    ).account
    ids = [
        world.ok(
            "MediaService.RegisterMedia", media_service_pb2.RegisterMediaRequest(url=f"gs://after-fuzz/photo-{i}.jpg")
        ).media.id
        for i in range(3)
    ]
    response = world.ok(
        "PublishingService.PublishInstagramCarousel",
        PublishInstagramCarouselRequest(media_ids=ids, instagram_account_id=account.id, caption="still works"),
    )
    assert response.state == publish_pb2.PUBLISH_STATE_PUBLISHED
    assert response.image_count == 3
    posts = world.instagram.posts("17841400000000077")
    assert len(posts) == 1 and posts[0]["caption"] == "still works"
