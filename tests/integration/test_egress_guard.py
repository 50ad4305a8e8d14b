"""The egress guard (server/adapters/egress.py): a server-side fetch of a caller's URL never
reaches loopback, private, link-local, shared, multicast or metadata addresses, in any
spelling, directly, by a name, or by a redirect; and the direct media fetcher uses it."""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from server.adapters.egress import (
    EgressPolicy,
    EgressRefused,
    GuardedResolver,
    guarded_session,
    open_guarded,
)
from server.adapters.media_fetch import DirectFetcher, FetchLimits, HttpMediaInspector
from server.domain.models import InspectionOutcome
from server.http_server import AppServer
from server.sandbox.media.convention import spec_for
from server.sandbox.media.images import _image
from server.sandbox.media.videos import video_bytes
from tests.support.tls import make_pki

OPEN = EgressPolicy()


# --- resolution: names are checked on the addresses the connection uses ----------------------


class FakeResolver(AbstractResolver):
    """Answers from a table, like DNS would (a name may have several addresses)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            {"hostname": host, "host": address, "port": port, "family": socket.AF_INET6 if ":" in address
             else socket.AF_INET, "proto": 0, "flags": socket.AI_NUMERICHOST}
            for address in self.table.get(host, [])
        ]

    async def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("addresses", "why"),
    [
        (["127.0.0.1"], "loopback"),
        (["::1"], "loopback"),
        (["93.184.216.34", "10.0.0.7"], "private"),  # one bad address spoils the name
        (["::ffff:192.168.0.1"], "private"),
        (["169.254.169.254"], "metadata"),
        (["100.64.1.1"], "CGNAT"),
    ],
)
async def test_a_name_that_resolves_to_a_refused_address_is_refused(addresses: list[str], why: str) -> None:
    resolver = GuardedResolver(OPEN, FakeResolver({"evil.example": addresses}))
    with pytest.raises(EgressRefused, match=f"evil.example resolves to .*{why}"):
        await resolver.resolve("evil.example", 443)


async def test_a_name_with_public_addresses_resolves_to_exactly_those() -> None:
    resolver = GuardedResolver(OPEN, FakeResolver({"cdn.example": ["93.184.216.34", "2606:2800:220:1::1"]}))
    assert [r["host"] for r in await resolver.resolve("cdn.example", 443)] == ["93.184.216.34", "2606:2800:220:1::1"]


async def test_the_session_never_connects_to_a_name_that_resolves_to_loopback(https_server) -> None:
    """The DNS-rebinding case: the name passes the URL check, its answer is loopback, and
    the connection is never made (the server sees no request)."""
    server, ssl_context = https_server
    fake = FakeResolver({"rebind.example": ["127.0.0.1"]})
    session = guarded_session(OPEN, ssl_context=ssl_context, resolver=fake)
    try:
        with pytest.raises(EgressRefused, match=r"rebind\.example resolves to 127\.0\.0\.1, a loopback address"):
            async with open_guarded(session, f"https://rebind.example:{server.port}/ok.jpg", OPEN):
                pass
    finally:
        await session.close()
    assert fake.asked == ["rebind.example"]
    assert server.hits == []


async def test_a_name_without_an_address_is_an_error_and_closing_closes_the_inner_resolver() -> None:
    closed: list[bool] = []

    class Empty(FakeResolver):
        async def close(self) -> None:
            closed.append(True)

    resolver = GuardedResolver(OPEN, Empty({}))
    with pytest.raises(OSError, match=r"nowhere\.example has no address"):
        await resolver.resolve("nowhere.example", 443)
    await resolver.close()
    assert closed == [True]


# --- redirects and the direct fetcher, against a local HTTPS server ------------------------------


@pytest.fixture
async def https_server(tmp_path) -> AsyncIterator[tuple[AppServer, ssl.SSLContext]]:
    pki = make_pki(tmp_path)
    jpeg = _image("JPEG", 1080, 1350)
    app = web.Application()
    hits: list[str] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        hits.append(request.path)
        if request.path in ("/reel.mp4", "/no-ranges.mp4"):
            video = tmp_path / "reel.mp4"
            if not video.exists():
                video.write_bytes(video_bytes(spec_for("h", "/big-noise-640x480-2s-moov-end.mp4")))
            if request.path == "/reel.mp4":
                return web.FileResponse(video)  # answers Range requests with 206
            return web.Response(body=video.read_bytes(), content_type="video/mp4")
        if request.path == "/ok.jpg":
            return web.Response(body=jpeg, content_type="image/jpeg")
        if request.path == "/big.jpg":  # more than one read: the connection stays with the response
            return web.Response(body=jpeg + b"\x00" * 4_000_000, content_type="image/jpeg")
        if request.path.startswith("/to/"):
            return web.Response(status=302, headers={"Location": request.query["location"]})
        if request.path.startswith("/loop/"):
            n = int(request.path.rsplit("/", 1)[1])
            return web.Response(status=307, headers={"Location": f"/loop/{n + 1}"})
        return web.Response(status=404)

    app.router.add_get("/{tail:.*}", handle)
    server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ssl.load_cert_chain(pki.server_cert, pki.server_key)
    server = _TlsAppServer(app, server_ssl)
    server.hits = hits
    await server.start()
    client_ssl = ssl.create_default_context(cafile=str(pki.ca_cert))
    yield server, client_ssl
    await server.stop()


class _TlsAppServer(AppServer):
    def __init__(self, app: web.Application, ssl_context: ssl.SSLContext) -> None:
        super().__init__(app)
        self._ssl = ssl_context
        self.hits: list[str] = []  # request paths, in order

    async def start(self) -> str:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._ssl)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"https://localhost:{self.port}"


# The local test server is on loopback: allowing the name `localhost` is what lets the tests
# reach it at all (as a deployment would allow its private media host).
LOCAL = EgressPolicy.parse(["localhost"])


async def inspect_direct(url: str, ssl_context: ssl.SSLContext, policy: EgressPolicy = LOCAL):
    fetcher = DirectFetcher(policy, guarded_session(policy, ssl_context=ssl_context))
    inspector = HttpMediaInspector(fetcher, FetchLimits(time_limit=5.0))
    try:
        return await inspector.inspect(url)
    finally:
        await inspector.close()


async def test_the_direct_fetcher_reads_an_allowed_host(https_server) -> None:
    server, ssl_context = https_server
    inspection = await inspect_direct(f"https://localhost:{server.port}/ok.jpg", ssl_context)
    assert inspection.outcome == InspectionOutcome.READ
    assert (inspection.mime_type, inspection.width, inspection.height) == ("image/jpeg", 1080, 1350)
    assert len(inspection.sha256) == 64  # a small file is read whole


async def test_the_direct_fetcher_reads_a_videos_index_at_the_end_by_range_through_the_guard(https_server) -> None:
    server, ssl_context = https_server
    inspection = await inspect_direct(f"https://localhost:{server.port}/reel.mp4", ssl_context)
    video = inspection.video
    assert inspection.outcome == InspectionOutcome.READ and video is not None
    assert (video.container, video.width, video.height, video.video_codec) == ("mp4", 640, 480, "h264")
    assert video.bytes_read < video.size_bytes / 4  # the first MiB and the index, not the file
    assert server.hits.count("/reel.mp4") >= 2  # the first read, then ranges


async def test_a_host_without_byte_ranges_leaves_a_large_video_known_by_type_only(https_server) -> None:
    server, ssl_context = https_server
    inspection = await inspect_direct(f"https://localhost:{server.port}/no-ranges.mp4", ssl_context)
    assert (inspection.outcome, inspection.mime_type, inspection.video) == (InspectionOutcome.READ, "video/mp4", None)
    assert inspection.size_bytes > 1 << 20


async def test_the_direct_fetcher_refuses_loopback_by_default(https_server) -> None:
    server, ssl_context = https_server
    for url in (f"https://localhost:{server.port}/ok.jpg", f"https://127.0.0.1:{server.port}/ok.jpg"):
        inspection = await inspect_direct(url, ssl_context, OPEN)
        assert inspection.outcome == InspectionOutcome.REFUSED, url
        assert "local" in inspection.detail or "loopback" in inspection.detail
    assert server.hits == []


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("https://10.0.0.1/x.jpg", "10.0.0.1 is a private address"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://[::1]/x.jpg", "loopback"),
        ("https://2130706433/x.jpg", "loopback"),
        ("http://localhost/ok.jpg", "only https"),
        ("https://user:pw@localhost/ok.jpg", "credentials"),
    ],
)
async def test_a_redirect_to_a_refused_target_is_refused(https_server, location: str, why: str) -> None:
    server, ssl_context = https_server
    inspection = await inspect_direct(f"https://localhost:{server.port}/to/x?location={location}", ssl_context)
    assert inspection.outcome == InspectionOutcome.REFUSED
    assert why in inspection.detail
    assert server.hits == ["/to/x"]  # the redirect was read, its target never asked


async def test_redirects_are_followed_a_few_times_only(https_server) -> None:
    server, ssl_context = https_server
    ok = await inspect_direct(
        f"https://localhost:{server.port}/to/x?location=https://localhost:{server.port}/ok.jpg", ssl_context
    )
    assert ok.outcome == InspectionOutcome.READ
    looped = await inspect_direct(f"https://localhost:{server.port}/loop/0", ssl_context)
    assert looped.outcome == InspectionOutcome.REFUSED
    assert "more than 3 redirects" in looped.detail
    assert server.hits[-4:] == ["/loop/0", "/loop/1", "/loop/2", "/loop/3"]


async def test_a_redirect_to_an_invalid_url_is_refused(https_server) -> None:
    server, ssl_context = https_server
    inspection = await inspect_direct(f"https://localhost:{server.port}/to/x?location=https://[::1", ssl_context)
    assert (inspection.outcome, inspection.detail.endswith("a redirect to an invalid URL")) == (
        InspectionOutcome.REFUSED, True,
    ), inspection.detail
    assert server.hits == ["/to/x"]


async def test_the_address_connected_to_is_checked_again_whatever_the_resolver_allowed(https_server) -> None:
    """A session whose resolver is looser than the fetch's policy (here it lets a name reach
    loopback) still yields no response from a refused address: the peer is checked too."""
    server, ssl_context = https_server
    ssl_context.check_hostname = False  # the test certificate names localhost, not media.example
    loose = EgressPolicy.parse(["media.example"])
    session = guarded_session(loose, ssl_context=ssl_context, resolver=FakeResolver({"media.example": ["127.0.0.1"]}))
    try:
        with pytest.raises(EgressRefused) as caught:
            async with open_guarded(session, f"https://media.example:{server.port}/big.jpg", OPEN):
                pass
    finally:
        await session.close()
    assert str(caught.value) == "the connection reached 127.0.0.1, a loopback address"
    assert server.hits == ["/big.jpg"]
