"""Property-based fuzzing of every unary RPC against one real in-process server.

The RPCs are discovered from the service descriptors of the generated `*_pb2_grpc`
modules, so a new unary RPC is fuzzed as soon as it is in the contract. Requests are
built generically from the request descriptor: each field is unset or drawn from a
strategy for its type -- hostile strings (huge, NUL, control, RTL, astral, SQL- and
path-ish junk, forged page tokens), ids of real objects created at setup so that deep
paths are reached, extreme ints, unknown enum numbers, huge repeated fields,
out-of-range timestamps.

Every RPC first gets a deterministic sweep of seeds (a plausible request, then that
request with one field at a time set to each known-nasty value of its type), then
`MAX_EXAMPLES` Hypothesis draws (derandomized, so CI is reproducible).

The property: a call succeeds, or fails with a code that is neither INTERNAL nor UNKNOWN
and carries a google.rpc.Status with an ErrorInfo -- except RESOURCE_EXHAUSTED raised by
gRPC itself for a request over the server's 1 MiB receive limit, which has no status.
Afterwards the server still reports SERVING and still publishes.

Hypothesis drives sync test functions; the server, the emulators and the channel live on
an event loop in a background thread for the whole module (function-scoped async fixtures
and @given do not mix).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import dataclasses
import importlib
import json
import logging
import pkgutil
import re
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Coroutine

import distribution.v1
import grpc
import pytest
from distribution.v1 import account_pb2, media_service_pb2, publish_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message_factory
from grpc_health.v1 import health_pb2
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from server.app import Service, start_service
from server.grpc_api.server import MAX_MESSAGE_BYTES
from server.config import Settings
from server.domain.pagination import Cursor, encode_token
from server.sandbox.instagram import InstagramSandbox, InstagramSandboxConfig
from server.sandbox.tiktok import TikTokSandbox, TikTokSandboxConfig
import tests.support.settings as shared_fixtures
from tests.support.settings import FAST_POLL
from tests.support.errors import rich_error

MAX_EXAMPLES = 60  # Hypothesis draws per RPC, after the seeds
CALL_TIMEOUT = 20.0  # seconds, per RPC
RESULT_TIMEOUT = 30.0  # seconds the test thread waits for the loop thread

FD = _descriptor.FieldDescriptor
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT32 = (0, 2**32 - 1)
UINT64 = (0, 2**64 - 1)
TIMESTAMP_MIN, TIMESTAMP_MAX = -62135596800, 253402300799  # 0001-01-01 .. 9999-12-31T23:59:59

# Codes an application error may use; each must carry a google.rpc.Status with an ErrorInfo.
APPLICATION_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.UNAUTHENTICATED,
}
_SIZE_LIMIT = re.compile(r"(Received|Sent) message larger than max", re.IGNORECASE)


# --- RPC discovery ---------------------------------------------------------------------


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
REQUIRED_RPCS = {
    "AccountService.ConnectAccount", "AccountService.GetAccount", "AccountService.ListAccounts",
    "AccountService.DisconnectAccount", "MediaService.RegisterMedia", "MediaService.GetMedia",
    "MediaService.ListMedia", "PublishingService.PublishInstagramCarousel",
    "PublishingService.PublishTikTokCarousel",
}


def test_every_known_rpc_is_discovered():
    assert REQUIRED_RPCS <= set(RPC_BY_NAME)


# --- the server, on a loop in a background thread ---------------------------------------


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = RESULT_TIMEOUT) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        async def cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_asyncgens()
            await self.loop.shutdown_default_executor()

        try:
            self.run(cancel_rest())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


class ServerLog(logging.Handler):
    """Keeps the server's error records (with tracebacks) so a failure can quote them."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock:
            self.records.append(record)

    def take(self) -> str:
        with self._lock:
            records, self.records = self.records, []
        lines = []
        for r in records:
            lines.append(f"[{r.name}] {r.levelname}: {r.getMessage()} {getattr(r, 'method', '')}")
            if r.exc_info:
                lines.append("".join(traceback.format_exception(*r.exc_info)))
        return "\n".join(lines)


# Real objects created at setup, read by the strategies (which are built inside the
# tests, after the module fixture ran).
REAL: dict[str, Any] = {
    "account": [],  # ids; instagram ones first
    "media": [],  # ids; GCS JPEGs first
    "publish": [],  # ids of publishes made at setup
    "platform_of": {},  # account id -> "instagram" / "tiktok"
    "page_tokens": [],  # next_page_tokens the List RPCs really returned
    "page_tokens_by": [],  # (RPC name, token)
    "externals": [],  # external_account_id of the real accounts
}
OUTCOMES: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)


@dataclass
class World:
    """The running server, a channel to it, and what setup created."""

    loop: LoopThread
    service: Service
    channel: grpc.aio.Channel
    instagram: InstagramSandbox
    tiktok: TikTokSandbox
    log: ServerLog
    calls: dict[str, Any] = field(default_factory=dict)
    connect_requests: list[Any] = field(default_factory=list)
    disconnected_id: str = ""

    def call(self, path: str, request: Any, timeout: float = CALL_TIMEOUT) -> tuple[Any, grpc.aio.AioRpcError | None]:
        multicallable = self.calls[path]

        async def invoke() -> tuple[Any, grpc.aio.AioRpcError | None]:
            try:
                return await multicallable(request, timeout=timeout), None
            except grpc.aio.AioRpcError as err:
                return None, err

        return self.loop.run(invoke())

    def ok(self, rpc: str, request: Any) -> Any:
        path = RPC_BY_NAME[rpc].path if rpc in RPC_BY_NAME else rpc
        response, err = self.call(path, request)
        assert err is None, f"{rpc}: {err.code()} {err.details()}\n{self.log.take()}"
        return response

    def restore(self) -> None:
        """Undoes what a fuzzed mutation may have done to the fixed accounts."""
        from distribution.v1.account_service_pb2 import DisconnectAccountRequest

        for request in self.connect_requests:
            self.ok("AccountService.ConnectAccount", request)
        self.ok("AccountService.DisconnectAccount", DisconnectAccountRequest(id=self.disconnected_id))


def _settings(tmp: Path, instagram: InstagramSandbox, tiktok: TikTokSandbox) -> Settings:
    """The shared fixtures' settings (fast polls and retries), without TikTok pacing: the
    emulator's rate limits are off too. Settings the server does not have (yet) are skipped."""
    wanted: dict[str, Any] = dict(
        listen="127.0.0.1:0",
        metrics_listen="127.0.0.1:0",
        db_path=tmp / "distribution.db",
        secret_key_file=tmp / "secret.key",
        instagram_api_base=instagram.base_url,
        tiktok_api_base=tiktok.base_url,
        shutdown_grace=1.0,
        instagram_poll=FAST_POLL,
        tiktok_poll=FAST_POLL,
    )
    for name, constant in (("late_facts", "FAST_LATE_FACTS"), ("retry", "FAST_RETRY")):
        if hasattr(shared_fixtures, constant):
            wanted[name] = getattr(shared_fixtures, constant)
    try:
        from server.adapters.tiktok import RateLimits

        wanted["tiktok_rate_limits"] = RateLimits(init=0, status=0, creator_info=0)
    except ImportError:
        pass
    known = {f.name for f in dataclasses.fields(Settings)}
    return Settings(**{name: value for name, value in wanted.items() if name in known})


async def _start(tmp: Path, loop: LoopThread, log: ServerLog) -> World:
    instagram = InstagramSandbox(
        InstagramSandboxConfig(processing_delay=0.05, publish_quota=100_000, container_quota=1_000_000)
    )
    # Rate limits off: the fuzzer should reach the publish paths, not the 429 path.
    tiktok = TikTokSandbox(
        TikTokSandboxConfig(
            processing_delay=0.05,
            moderation_delay=0.3,
            init_limit_per_minute=0,
            status_limit_per_minute=0,
            creator_info_limit_per_minute=0,
        )
    )
    await instagram.start()
    await tiktok.start()
    service = await start_service(_settings(tmp, instagram, tiktok))
    # No client-side receive limit: what the server answers is what the test sees.
    channel = grpc.aio.insecure_channel(service.address, options=[("grpc.max_receive_message_length", -1)])
    world = World(loop, service, channel, instagram, tiktok, log)
    for rpc in RPCS:
        world.calls[rpc.path] = channel.unary_unary(
            rpc.path,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=message_factory.GetMessageClass(rpc.output).FromString,
        )
    world.calls["/grpc.health.v1.Health/Check"] = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    return world


async def _stop(world: World) -> None:
    await world.channel.close()
    await world.service.stop(0)
    await world.instagram.stop()
    await world.tiktok.stop()


def _populate(world: World) -> None:
    from distribution.v1.account_service_pb2 import ConnectAccountRequest
    from distribution.v1.media_service_pb2 import RegisterMediaRequest
    from distribution.v1.publishing_service_pb2 import (
        PublishInstagramCarouselRequest,
        PublishTikTokCarouselRequest,
    )

    for key, value in REAL.items():
        value.clear()
    accounts: dict[str, str] = {}
    specs = [
        ("instagram", account_pb2.PLATFORM_INSTAGRAM, "17841400000000001", "fuzz-ig-token"),
        ("instagram2", account_pb2.PLATFORM_INSTAGRAM, "17841400000000002", "fuzz-ig-token-2"),
        ("tiktok", account_pb2.PLATFORM_TIKTOK, "open-id-fuzz-public", "tt-fuzz-public-token"),
        ("tiktok_private", account_pb2.PLATFORM_TIKTOK, "open-id-fuzz-private", "tt-fuzz-private-token"),
        ("gone", account_pb2.PLATFORM_INSTAGRAM, "17841400000000009", "fuzz-ig-gone"),
    ]
    for label, platform, external, token in specs:
        request = ConnectAccountRequest(
            platform=platform, external_account_id=external, username=f"fuzz_{label}", access_token=token
        )
        account = world.ok("AccountService.ConnectAccount", request).account
        accounts[label] = account.id
        REAL["platform_of"][account.id] = "instagram" if platform == account_pb2.PLATFORM_INSTAGRAM else "tiktok"
        REAL["externals"].append(external)
        if label != "gone":
            world.connect_requests.append(request)
    REAL["account"] = list(accounts.values())
    world.disconnected_id = accounts["gone"]
    world.restore()

    urls = {
        "gcs_jpg_0": "gs://fuzz-bucket/carousel/photo-0.jpg",
        "gcs_jpg_1": "gs://fuzz-bucket/carousel/photo-1.jpg",
        "gcs_jpg_2": "gs://fuzz-bucket/carousel/photo-2.jpg",
        "gcs_https_webp": "https://storage.googleapis.com/fuzz-bucket/photo-3.webp",
        "gcs_png": "gs://fuzz-bucket/photo-4.png",
        "s3_jpg": "s3://fuzz-bucket/photo-5.jpg",
        "other_jpg": "https://cdn.example.com/photo-6.jpg",
        "unreachable_jpg": "https://unreachable.example.com/photo-7.jpg",
        "bad_ratio_jpg": "https://cdn.example.com/photo-2000x500.jpg",
        "video": "https://cdn.example.com/clip.mp4",
        "gcs_video": "gs://fuzz-bucket/clip.mov",
    }
    media = {
        label: world.ok("MediaService.RegisterMedia", RegisterMediaRequest(url=url)).media.id
        for label, url in urls.items()
    }
    REAL["media"] = list(media.values())

    # A few real publishes (live on each platform, and one failed), for the RPCs that read them.
    gcs = [media["gcs_jpg_0"], media["gcs_jpg_1"], media["gcs_jpg_2"]]
    done = world.ok(
        "PublishingService.PublishInstagramCarousel",
        PublishInstagramCarouselRequest(media_ids=gcs, instagram_account_id=accounts["instagram"], caption="setup"),
    )
    REAL["publish"].append(done.instagram_publish_id)
    done = world.ok(
        "PublishingService.PublishTikTokCarousel",
        PublishTikTokCarouselRequest(media_ids=gcs[:2], tiktok_account_id=accounts["tiktok"], caption="setup"),
    )
    REAL["publish"].append(done.tiktok_publish_id)
    _, err = world.call(
        RPC_BY_NAME["PublishingService.PublishInstagramCarousel"].path,
        PublishInstagramCarouselRequest(
            media_ids=[media["gcs_jpg_0"], media["unreachable_jpg"]], instagram_account_id=accounts["instagram2"]
        ),
    )
    assert err is not None and err.code() == grpc.StatusCode.FAILED_PRECONDITION, err
    if failed := rich_error(err).metadata.get("publish_id"):
        REAL["publish"].append(failed)

    # Real page tokens from every List RPC, under each value of each enum/bool filter.
    for rpc in RPCS:
        if not rpc.name.startswith("List") or "page_size" not in rpc.input.fields_by_name:
            continue
        cls = message_factory.GetMessageClass(rpc.input)
        variants = [cls(page_size=1)]
        for f in rpc.input.fields:
            if f.is_repeated:
                continue
            if f.cpp_type == FD.CPPTYPE_ENUM:
                variants += [cls(page_size=1, **{f.name: v.number}) for v in f.enum_type.values]
            elif f.cpp_type == FD.CPPTYPE_BOOL:
                variants.append(cls(page_size=1, **{f.name: True}))
        for request in variants:
            response, _ = world.call(rpc.path, request)
            token = getattr(response, "next_page_token", "") if response is not None else ""
            if token:
                REAL["page_tokens"].append(token)
                REAL["page_tokens_by"].append((rpc.name, token))
    world.log.take()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    loop = LoopThread()
    log = ServerLog()
    logging.getLogger().addHandler(log)
    started: World | None = None
    try:
        started = loop.run(_start(tmp_path_factory.mktemp("fuzz"), loop, log))
        _populate(started)
        yield started
    finally:
        try:
            if started is not None:
                loop.run(_stop(started))
        finally:
            loop.close()
            logging.getLogger().removeHandler(log)


# --- values -----------------------------------------------------------------------------

FIXED_REQUEST_IDS = [
    "3f6c1d2e-8a4b-4c7d-9e0f-1a2b3c4d5e6f",
    "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
    "00000000-0000-0000-0000-000000000000",
]
JUNK = [
    "' OR 1=1 --",
    "'; DROP TABLE media; --",
    '" OR ""="',
    "%' AND 1=0 UNION SELECT * FROM accounts --",
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/etc/passwd",
    "file:///etc/passwd",
    "gs://",
    "gs://bucket",
    "gs://bucket/",
    "s3://b/k.jpg",
    "s3://",
    "https://u:p@h/x.jpg",
    "https://:@h/x.jpg",
    "https://h:99999/x.jpg",
    "https://h:-1/x.jpg",
    "https://[::1/x.jpg",
    "https://[zz]/x.jpg",
    "https://storage.googleapis.com/",
    "https://storage.googleapis.com/b/o.webp",
    "https://b.s3.amazonaws.com/k.jpeg",
    "https://b.s3-eu-west-1.amazonaws.com/k.webp",
    "https://cdn.example.com/clip.mp4",
    "https://cdn.example.com/x.JPG?x=1#frag",
    "https://cdn.example.com/%2e%2e/%00.jpg",
    "https://unreachable.example.com/a.jpg",
    "https://host.invalid/a.jpg",
    "https://cdn.example.com/photo-1x1000000.jpg",
    "https://cdn.example.com/photo-0x0.jpg",
    "http://cdn.example.com/a.jpg",
    "javascript:alert(1)",
    "data:image/png;base64,AAAA",
    "image/jpeg",
    "image/webp",
    "video/mp4",
    "IMAGE/JPEG ",
    "image/",
    "/",
    "text/plain",
    "application/octet-stream",
    "image/" + "x" * 200,
    "${jndi:ldap://x/a}",
    "{{7*7}}",
    "%s%s%s%n",
    "null",
    "NaN",
    "-0",
    "1e309",
    "17841400000000001",
    "\u0661\u0662\u0663",  # Arabic-Indic digits: str.isdigit() but not ASCII
    "\u00b2\u00b3",
    "#tag @user",
    " ".join(f"#t{i}" for i in range(31)),
    " ".join(f"@u{i}" for i in range(21)),
    "Bearer x",
    "\x00",
    "a\x00b",
    "\r\n\t",
    "\u202e\u200f\u200e",  # RTL override, RLM, LRM
    "\ufeff",
    "\u2028\u2029",
    "\U0001d518\U0001f600\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\U0010ffff",
    "e\u0301" * 50,
    "",
    " ",
    "=",
    "====",
]
SPECIAL_CHARS = st.sampled_from(
    ["\x00", "\x01", "\x1f", "\x7f", "\x85", "\u200b", "\u200d", "\u202e", "\u200f", "\ufeff", "\ufffd",
     "\U0001f600", "\U0001d518", "\U0010ffff", "'", '"', "\\", "/", "%", "#", "@", "?", ":", " ", "\n"]
)
CHARS = st.one_of(st.characters(codec="utf-8"), SPECIAL_CHARS)  # protobuf strings cannot hold surrogates
SHORT_TEXT = st.text(CHARS, max_size=40)
ASCII_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Page-token shaped values: deep JSON nesting, and well-formed tokens (right filter
# fingerprint) whose cursor holds what the store cannot take (lone surrogates, NUL).
ACCOUNT_FILTERS = [{"platform": p, "show_disconnected": d} for p in (None, "INSTAGRAM", "TIKTOK") for d in (False, True)]
HOSTILE_TOKENS = [
    _b64(b"[" * 100_000),
    _b64(b'{"a":' * 50_000),
    _b64(b'["\\ud800","x","y"]'),
    *(encode_token(Cursor("\ud800", "\udfff"), f) for f in [{}, *ACCOUNT_FILTERS]),
    *(encode_token(Cursor("\x00' OR 1=1 --", "../../etc/passwd"), f) for f in [{}, *ACCOUNT_FILTERS]),
    *(encode_token(Cursor("9" * 5000, ""), f) for f in [{}, ACCOUNT_FILTERS[0]]),
]
# Over the server's receive limit even as 1-byte characters.
OVERSIZED = st.integers(MAX_MESSAGE_BYTES + 1, MAX_MESSAGE_BYTES + 100_000).map(lambda n: "A" * n)
UNSET = object()


# --- strategies -------------------------------------------------------------------------


def id_kind(field_name: str, method: str) -> str | None:
    """Which real objects an id field refers to: from its name, else from the RPC's name."""
    for text in (field_name.lower(), method.lower()):
        for kind in ("account", "media", "publish"):
            if kind in text:
                return kind
    return None


def is_idish(field_name: str) -> bool:
    name = field_name.lower()
    return name == "id" or name.endswith(("_id", "_ids", "ids"))


def real_pool(field_name: str, method: str) -> list[str]:
    kind = id_kind(field_name, method)
    everything = [*REAL["account"], *REAL["media"], *REAL["publish"]]
    assert everything, "real ids are read after the module fixture created them"
    if kind is None:
        return everything
    pool = list(REAL[kind]) or everything
    if kind == "account":
        hint = f"{field_name} {method}".lower()
        preferred = [i for i in pool if REAL["platform_of"].get(i, "?") in hint]
        pool = preferred + pool
    return pool


def _uuid_strings() -> st.SearchStrategy[str]:
    return st.one_of(
        st.uuids().map(str),
        st.uuids().map(lambda u: str(u).upper()),
        st.uuids().map(lambda u: u.hex),
        st.uuids().map(lambda u: f"{{{u}}}"),
        st.uuids().map(lambda u: f" {u} "),
        st.uuids().map(lambda u: f"urn:uuid:{u}"),
        st.sampled_from(FIXED_REQUEST_IDS),
    )


def _real_ids(field_name: str, method: str) -> st.SearchStrategy[str]:
    def build() -> st.SearchStrategy[str]:
        pool = real_pool(field_name, method)
        everything = [*REAL["account"], *REAL["media"], *REAL["publish"]]
        return st.one_of(st.sampled_from(pool), st.sampled_from(pool), st.sampled_from(everything))

    return st.deferred(build)


def _real_id_variants(field_name: str, method: str) -> st.SearchStrategy[str]:
    real = _real_ids(field_name, method)
    return st.one_of(
        real,
        real,
        real,
        real.map(str.upper),
        real.map(lambda s: s + " "),
        real.map(lambda s: s[:-1]),
        real.map(lambda s: s + "\x00"),
    )


HOSTILE_CURSOR_PARTS: list[Any] = [
    "\ud800", "\x00", "' OR 1=1 --", "9" * 5000, "", "9999-99-99T99:99:99.999999Z", 1, None, [], {"a": 1},
]


def forged_tokens(method: str | None = None, per_method: int = 99) -> list[str]:
    """The real page tokens with their cursor parts swapped for hostile ones, keeping the rest
    (e.g. a filter fingerprint) intact, so the forgery gets past the token checks."""
    forged: list[str] = []
    tokens = [t for m, t in REAL["page_tokens_by"] if method in (None, m)][:per_method]
    for token in tokens:
        try:
            payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except ValueError:
            continue
        if isinstance(payload, dict):
            payload = list(payload.items())
            rebuild: Any = dict
        elif isinstance(payload, list) and len(payload) > 1:
            rebuild = list
        else:
            continue
        for part in HOSTILE_CURSOR_PARTS:
            for i in range(len(payload) - 1):  # the last part is left alone: a fingerprint, say
                items = list(payload)
                items[i] = (items[i][0], part) if rebuild is dict else part
                forged.append(_b64(json.dumps(rebuild(items)).encode()))
    return forged


def _page_tokens() -> st.SearchStrategy[str]:
    """Real tokens, and tokens shaped like real ones around hostile cursors."""
    real = st.deferred(lambda: st.sampled_from(REAL["page_tokens"] or [""]))
    forged = st.deferred(lambda: st.sampled_from(forged_tokens() or [""]))
    filters = st.sampled_from([{}, *ACCOUNT_FILTERS])
    # May hold lone surrogates (JSON escapes them as \udXXX), NUL and astral characters.
    any_text = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"]), SPECIAL_CHARS), max_size=30)
    crafted = st.builds(lambda c, i, f: encode_token(Cursor(c, i), f), any_text, any_text, filters)
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=3),
        max_leaves=8,
    )
    payloads = st.one_of(
        st.sampled_from([b"[]", b"[1,2,3]", b'["a","b"]', b'["a","b","c","d"]', b'{"a":1,"b":2,"c":3}',
                         b"null", b"1e999999", b"\xff\xfe", b"\x00", b"[" * 100_000]),
        st.binary(max_size=60),
        json_values.map(lambda x: json.dumps(x).encode()),
    )
    b64 = st.builds(lambda raw, pad: base64.urlsafe_b64encode(raw).decode().rstrip("" if pad else "="),
                    payloads, st.booleans())
    return st.one_of(real, real, forged, forged, crafted, b64, b64, st.sampled_from(HOSTILE_TOKENS))


def _huge(max_len: int = 200_000) -> st.SearchStrategy[str]:
    return st.builds(
        lambda chunk, n: (chunk * (n // max(len(chunk), 1) + 1))[:n],
        st.one_of(st.sampled_from(["x", "#t ", "@u ", "\U0001f600", "\x00", "\u202e", "\u00e9"]), SHORT_TEXT.filter(bool)),
        st.integers(1_000, max_len),
    )


def string_strategy(field_name: str, method: str, small: bool = False) -> st.SearchStrategy[str]:
    name = field_name.lower()
    branches: list[st.SearchStrategy[str]] = [
        SHORT_TEXT,
        SHORT_TEXT,
        ASCII_TEXT,
        st.sampled_from(JUNK),
        st.sampled_from(JUNK),
        st.lists(st.one_of(st.sampled_from(JUNK), SHORT_TEXT, _uuid_strings()), min_size=2, max_size=4).map("".join),
        _uuid_strings(),
        _real_id_variants(field_name, method),
        st.deferred(lambda: st.sampled_from(REAL["externals"])),
        _page_tokens(),
    ]
    if is_idish(name):
        branches += [_real_ids(field_name, method)] * 8 + [_real_id_variants(field_name, method)] * 2
        branches += [_uuid_strings()] * 2
    if "token" in name:
        branches += [_page_tokens()] * 4 + [ASCII_TEXT] * 2
    if "url" in name:
        branches += [st.sampled_from([j for j in JUNK if ":" in j])] * 3
        branches.append(
            st.builds(
                lambda scheme, host, path, ext: f"{scheme}{host}/{path}{ext}",
                st.sampled_from(["gs://", "s3://", "https://", "http://", "ftp://", "", "https://u@"]),
                st.sampled_from(["b", "storage.googleapis.com", "x.s3.amazonaws.com", "unreachable.example.com",
                                 "h.invalid", "[::1]", "127.0.0.1:1", "\u00fcn\u00efcode.example", "a" * 300]),
                SHORT_TEXT,
                st.sampled_from([".jpg", ".jpeg", ".png", ".webp", ".mp4", ".mov", ".gif", ".heic", "", ".exe"]),
            )
        )
    if not small:
        # Rarely over the 1 MiB receive limit; mostly large but acceptable to gRPC.
        branches += [_huge(), st.one_of(_huge(2_500), _huge(5_000), _huge(), _huge(), OVERSIZED)]
    return st.sampled_from(branches).flatmap(lambda s: s)


def int_strategy(bounds: tuple[int, int]) -> st.SearchStrategy[int]:
    lo, hi = bounds
    edges = sorted({v for v in (0, 1, -1, 2, 3, 9, 10, 11, 34, 35, 36, 50, 64, 65, 1000, 1001, lo, lo + 1, hi, hi - 1)
                    if lo <= v <= hi})
    return st.one_of(st.sampled_from(edges), st.sampled_from(edges), st.integers(lo, hi))


def enum_strategy(enum: _descriptor.EnumDescriptor) -> st.SearchStrategy[int]:
    valid = [v.number for v in enum.values]
    invalid = [v for v in (999, -1, 2**31 - 1, -(2**31), max(valid) + 1) if v not in set(valid)]
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), st.sampled_from(invalid))


def timestamp_strategy(cls: type) -> st.SearchStrategy[Any]:
    seconds = st.one_of(
        st.integers(TIMESTAMP_MIN, TIMESTAMP_MAX),
        st.integers(-1_000_000_000, 4_102_444_800),  # 1938 .. 2100
        st.sampled_from([0, -1, 1, TIMESTAMP_MIN, TIMESTAMP_MAX, TIMESTAMP_MIN - 1, TIMESTAMP_MAX + 1]),
        st.sampled_from([INT64[0], INT64[1]]),
        st.integers(*INT64),
    )
    nanos = st.one_of(
        st.integers(0, 999_999_999),
        st.sampled_from([0, 999_999_999, 1_000_000_000, -1, INT32[0], INT32[1]]),
    )
    return st.builds(lambda s, n: cls(seconds=s, nanos=n), seconds, nanos)


def scalar_strategy(f: FD, method: str, small: bool = False) -> st.SearchStrategy[Any]:
    cpp = f.cpp_type
    if cpp == FD.CPPTYPE_STRING:
        if f.type == FD.TYPE_BYTES:
            return st.one_of(st.binary(max_size=64), string_strategy(f.name, method, small).map(str.encode))
        return string_strategy(f.name, method, small)
    if cpp == FD.CPPTYPE_INT32:
        return int_strategy(INT32)
    if cpp == FD.CPPTYPE_INT64:
        return int_strategy(INT64)
    if cpp == FD.CPPTYPE_UINT32:
        return int_strategy(UINT32)
    if cpp == FD.CPPTYPE_UINT64:
        return int_strategy(UINT64)
    if cpp == FD.CPPTYPE_BOOL:
        return st.booleans()
    if cpp in (FD.CPPTYPE_DOUBLE, FD.CPPTYPE_FLOAT):
        return st.floats(width=32 if cpp == FD.CPPTYPE_FLOAT else 64)
    if cpp == FD.CPPTYPE_ENUM:
        return enum_strategy(f.enum_type)
    raise AssertionError(f"unhandled field type {cpp} of {f.full_name}")


def _bulk(element: st.SearchStrategy[Any], n: int = 10_000) -> st.SearchStrategy[list[Any]]:
    """n items cycling a few drawn ones: a big request without drawing 10,000 values."""
    return st.lists(element, min_size=1, max_size=5).map(lambda pattern: (pattern * (n // len(pattern) + 1))[:n])


def field_strategy(f: FD, method: str, depth: int) -> st.SearchStrategy[Any]:
    if f.cpp_type == FD.CPPTYPE_MESSAGE:
        if f.message_type.GetOptions().map_entry:
            key = scalar_strategy(f.message_type.fields_by_name["key"], method, small=True)
            value = field_strategy(f.message_type.fields_by_name["value"], method, depth + 1)
            return st.dictionaries(key, value, max_size=5)
        element = message_strategy(f.message_type, method, depth + 1)
        return st.lists(element, max_size=5) if f.is_repeated else element
    if not f.is_repeated:
        return scalar_strategy(f, method)
    small = scalar_strategy(f, method, small=True)
    branches = [
        st.just([]),
        st.lists(small, min_size=1, max_size=40),
        st.lists(small, min_size=1, max_size=12),
        _bulk(small),  # 10,000 items
        st.lists(scalar_strategy(f, method), min_size=1, max_size=3),  # may hold a huge item
    ]
    if f.type == FD.TYPE_STRING:
        real = _real_ids(f.name, method)
        branches += [st.lists(real, min_size=1, max_size=12)] * 3  # get past the shape checks
        branches.append(_bulk(real))
        branches.append(  # real ids with one bad apple
            st.lists(real, min_size=2, max_size=12).flatmap(
                lambda ids: st.tuples(st.integers(0, len(ids) - 1), small).map(
                    lambda bad: [*ids[: bad[0]], bad[1], *ids[bad[0] + 1:]]
                )
            )
        )
    return st.sampled_from(branches).flatmap(lambda s: s)


_MESSAGE_STRATEGIES: dict[tuple[str, str, int], st.SearchStrategy[Any]] = {}


def message_strategy(desc: _descriptor.Descriptor, method: str, depth: int = 0) -> st.SearchStrategy[Any]:
    key = (desc.full_name, method, depth)
    if key in _MESSAGE_STRATEGIES:
        return _MESSAGE_STRATEGIES[key]
    cls = message_factory.GetMessageClass(desc)
    if desc.full_name == "google.protobuf.Timestamp":
        strategy = timestamp_strategy(cls)
    elif depth > 3:
        strategy = st.just(cls())
    else:
        fields = {f.name: st.one_of(st.just(UNSET), field_strategy(f, method, depth)) for f in desc.fields}
        strategy = st.fixed_dictionaries(fields).map(lambda values: _build(cls, desc, values))
    _MESSAGE_STRATEGIES[key] = strategy
    return strategy


def _set(message: Any, f: FD, value: Any) -> None:
    message.ClearField(f.name)
    target = getattr(message, f.name)
    if f.cpp_type == FD.CPPTYPE_MESSAGE and f.message_type.GetOptions().map_entry:
        value_is_message = f.message_type.fields_by_name["value"].cpp_type == FD.CPPTYPE_MESSAGE
        for k, v in value.items():
            if value_is_message:
                target[k].CopyFrom(v)
            else:
                target[k] = v
    elif f.is_repeated and f.cpp_type == FD.CPPTYPE_MESSAGE:
        for item in value:
            target.add().CopyFrom(item)
    elif f.is_repeated:
        target.extend(value)
    elif f.cpp_type == FD.CPPTYPE_MESSAGE:
        target.CopyFrom(value)
    else:
        setattr(message, f.name, value)


def _build(cls: type, desc: _descriptor.Descriptor, values: dict[str, Any]) -> Any:
    message = cls()
    for name, value in values.items():
        if value is not UNSET:
            _set(message, desc.fields_by_name[name], value)
    return message


# --- seeds ------------------------------------------------------------------------------
#
# A deterministic sweep run before the random draws, so the known-nasty inputs reach deep
# code paths on every run: a plausible request (real ids where the field name asks for an
# id), then that request with one field at a time replaced by each hostile value.

SEED_STRINGS = [
    "",
    "\x00",
    "a\x00b",
    "\r\n\t\x1f\x7f",
    "\u202e\u200fabc\u200e",
    "\U0001d518\U0001f600\U0010ffff",
    "' OR 1=1 --",
    "../../etc/passwd",
    "file:///etc/passwd",
    "gs://",
    "s3://b/k.jpg",
    "https://u:p@h/x.jpg",
    "https://[::1/x.jpg",
    "https://h:99999/x.jpg",
    "\u0661\u0662\u0663",
    " ".join(f"#t{i}" for i in range(31)),
    "x" * 200_000,
    "\U0001f600" * 50_000,
    FIXED_REQUEST_IDS[0],
    FIXED_REQUEST_IDS[0].upper(),
    *HOSTILE_TOKENS,
]
SEED_INTS = [0, 1, -1, 2, 10, 11, 35, 36, 1000, 1001]
SEED_TIMESTAMPS = [
    (0, 0), (TIMESTAMP_MIN, 0), (TIMESTAMP_MAX, 999_999_999), (TIMESTAMP_MIN - 1, 0), (TIMESTAMP_MAX + 1, 0),
    (-30_000_000_000, 0),  # year 1019
    (-30_700_000_000, 0),  # year 997
    (0, -1), (0, 1_000_000_000), (INT64[0], INT32[0]), (INT64[1], INT32[1]),
]


def _plausible_string(f: FD, method: str) -> str:
    """What a well-behaved client would put in a string field, judged by its name."""
    name = f.name.lower()
    if "external" in name:
        return REAL["externals"][0]
    if name in ("page_token", "request_id"):
        return ""
    if is_idish(name):
        return real_pool(f.name, method)[0]
    if "url" in name:
        return "gs://fuzz-bucket/seed/photo.jpg"
    if "token" in name:
        return "seed-token"
    return ""


def plausible_request(desc: _descriptor.Descriptor, method: str) -> Any:
    message = message_factory.GetMessageClass(desc)()
    for f in desc.fields:
        if f.type == FD.TYPE_STRING:
            if f.is_repeated:
                _set(message, f, real_pool(f.name, method)[:3])
            elif value := _plausible_string(f, method):
                _set(message, f, value)
        elif f.cpp_type == FD.CPPTYPE_ENUM and not f.is_repeated:
            numbers = sorted(v.number for v in f.enum_type.values)
            _set(message, f, numbers[min(1, len(numbers) - 1)])  # the first specified value
        elif f.cpp_type == FD.CPPTYPE_BOOL and not f.is_repeated and f.name.startswith("allow_"):
            # e.g. allow_duplicate: the seeds share most fields, and should all get to the platform.
            _set(message, f, True)
    return message


def _seed_values(f: FD, method: str) -> list[Any]:
    if f.cpp_type == FD.CPPTYPE_MESSAGE:
        if f.is_repeated or f.message_type.full_name != "google.protobuf.Timestamp":
            return []
        cls = message_factory.GetMessageClass(f.message_type)
        return [cls(seconds=sec, nanos=nan) for sec, nan in SEED_TIMESTAMPS]
    if f.type == FD.TYPE_STRING:
        if not f.is_repeated:
            return SEED_STRINGS + (forged_tokens(method, per_method=2) if "token" in f.name.lower() else [])
        ids = real_pool(f.name, method)
        everything = [*REAL["account"], *REAL["media"], *REAL["publish"]]
        return [
            [],
            ids[:1],
            ids[:2],
            ids[:10],
            (ids * 50)[:36],
            [ids[0]] * 3,
            (everything * 1000)[:10_000],
            [ids[0], "not-a-uuid", ids[1]],
            [ids[0], FIXED_REQUEST_IDS[2], ids[1]],
            [ids[0], "\x00", ids[1], "x" * 50_000],
            [ids[0], HOSTILE_TOKENS[0]],
            [ids[0], ids[1].upper()],
        ]
    if f.is_repeated:
        return []
    if f.cpp_type == FD.CPPTYPE_ENUM:
        known = {v.number for v in f.enum_type.values}
        return sorted(known) + [v for v in (999, -1, 2**31 - 1, -(2**31)) if v not in known]
    if f.cpp_type in (FD.CPPTYPE_INT32, FD.CPPTYPE_INT64):
        bounds = INT32 if f.cpp_type == FD.CPPTYPE_INT32 else INT64
        return [*SEED_INTS, *bounds]
    if f.cpp_type == FD.CPPTYPE_BOOL:
        return [False, True]
    return []


def seed_requests(rpc: Rpc) -> list[Any]:
    base = plausible_request(rpc.input, rpc.name)
    seeds = [base, type(base)()]
    for f in rpc.input.fields:
        for value in _seed_values(f, rpc.name):
            message = type(base)()
            message.CopyFrom(base)
            _set(message, f, value)
            seeds.append(message)
    return seeds


# --- the property -----------------------------------------------------------------------


def _summary(message: Any) -> str:
    """The request with long strings and lists cut, for reports."""

    def cut(value: Any) -> Any:
        if isinstance(value, str):
            return value if len(value) <= 120 else f"{value[:60]!r}...<{len(value)} chars>...{value[-20:]!r}"
        if isinstance(value, bytes):
            return value if len(value) <= 120 else f"<{len(value)} bytes>"
        if hasattr(value, "ListFields"):
            return {f.name: cut(v) for f, v in value.ListFields()}
        if hasattr(value, "__len__") and not isinstance(value, dict):
            items = list(value)
            shown = [cut(v) for v in items[:12]]
            return shown if len(items) <= 12 else [*shown, f"...<{len(items)} items>"]
        return value

    return f"{type(message).__name__}({cut(message)})"


class Drawn:
    """A generated request whose repr (in Hypothesis' report) is the cut-down summary."""

    def __init__(self, message: Any) -> None:
        self.message = message

    def __repr__(self) -> str:
        return _summary(self.message)


def _note(text: str) -> None:
    if currently_in_test_context():
        note(text)


def is_grpc_size_limit(err: grpc.aio.AioRpcError) -> bool:
    return err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and bool(_SIZE_LIMIT.search(err.details() or ""))


def check_call(world: World, rpc: Rpc, request: Any) -> grpc.aio.AioRpcError | None:
    """Makes the call and checks the property. After any call that may have changed
    something (even a failed one: a write may land before the failure), the fixed
    accounts are restored so that one bug does not cascade into every later RPC."""
    try:
        outcome = _check_call(world, rpc, request)
    except BaseException:
        if not rpc.reads_only:
            with contextlib.suppress(Exception):  # the failure being raised is the news
                world.restore()
        raise
    if not rpc.reads_only:
        world.restore()
    return outcome


def _check_call(world: World, rpc: Rpc, request: Any) -> grpc.aio.AioRpcError | None:
    world.log.take()
    size = request.ByteSize()
    response, err = world.call(rpc.path, request)
    server_log = world.log.take()
    where = f"{rpc} with {_summary(request)} ({size} bytes)"
    if err is None:
        OUTCOMES[str(rpc)]["OK"] += 1
        _note(f"{rpc}: OK")
        assert isinstance(response, message_factory.GetMessageClass(rpc.output)), where
        return None
    code = err.code()
    OUTCOMES[str(rpc)][code.name] += 1
    _note(f"{rpc}: {code.name} {err.details()!r}")
    assert code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (
        f"{where} -> {code.name}: {err.details()}\nserver log:\n{server_log}"
    )
    if is_grpc_size_limit(err):
        assert size > MAX_MESSAGE_BYTES, f"{where}: size limit hit by a {size}-byte request"
        return err
    assert code in APPLICATION_CODES, f"{where} -> unexpected {code.name}: {err.details()}\n{server_log}"
    try:
        rich = rich_error(err)
    except AssertionError as missing:
        raise AssertionError(f"{where} -> {code.name} without a rich status: {missing}\n{server_log}") from None
    assert rich.domain == "distribution", f"{where} -> ErrorInfo domain {rich.domain!r}"
    return err


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
    _set(request, f, ["A" * 1000] * (MAX_MESSAGE_BYTES // 1000 + 10) if f.is_repeated else "A" * (MAX_MESSAGE_BYTES + 10))
    err = check_call(world, rpc, request)
    assert err is not None and is_grpc_size_limit(err), err


def test_server_is_healthy_and_publishes_after_fuzzing(world: World) -> None:
    from distribution.v1.account_service_pb2 import ConnectAccountRequest
    from distribution.v1.publishing_service_pb2 import PublishInstagramCarouselRequest

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
