"""The egress guard's rules (server/adapters/egress.py), where they live: which URLs and
addresses it refuses and why, every spelling of an address read as the address it is, the
allow-list, and each redirect checked like the URL it leaves. Pure: no resolver, no socket
(the redirects are followed on a recording stand-in for the session). What needs a resolver
or a real connection is tested in tests/integration/test_egress_guard.py."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pytest
from yarl import URL

from server.adapters.egress import EgressPolicy, EgressRefused, check_url, literal_address, open_guarded

OPEN = EgressPolicy()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://127.0.0.1/a.jpg", "loopback"),
        ("https://127.8.9.10/a.jpg", "loopback"),
        ("https://2130706433/a.jpg", "loopback"),  # decimal
        ("https://0177.0.0.1/a.jpg", "loopback"),  # octal
        ("https://0x7f.0.0.1/a.jpg", "loopback"),  # hex
        ("https://0x7f000001/a.jpg", "loopback"),
        ("https://127.1/a.jpg", "loopback"),  # short form
        ("https://[::1]/a.jpg", "loopback"),
        ("https://[::ffff:127.0.0.1]/a.jpg", "loopback"),  # v4-mapped
        ("https://[::ffff:7f00:1]/a.jpg", "loopback"),
        ("https://[::127.0.0.1]/a.jpg", "loopback"),  # v4-compatible
        ("https://10.0.0.1/a.jpg", "private"),
        ("https://172.16.5.4/a.jpg", "private"),
        ("https://172.31.255.255/a.jpg", "private"),
        ("https://192.168.1.20/a.jpg", "private"),
        ("https://012.0.0.1/a.jpg", "private"),  # octal 10.0.0.1
        ("https://[::ffff:10.0.0.1]/a.jpg", "private"),
        ("https://[fc00::1]/a.jpg", "private"),  # RFC 4193
        ("https://[fd12:3456::1]/a.jpg", "private"),
        ("https://[2002:c0a8:101::1]/a.jpg", "192.168.1.1"),  # 6to4 of a private address
        ("https://[64:ff9b::a00:1]/a.jpg", "10.0.0.1"),  # NAT64 of a private address
        ("https://100.64.0.1/a.jpg", "CGNAT"),
        ("https://169.254.1.1/a.jpg", "link-local"),
        ("https://[fe80::1]/a.jpg", "link-local"),
        ("https://[fe80::1%25eth0]/a.jpg", "link-local"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://[fd00:ec2::254]/a.jpg", "metadata"),
        ("https://[::ffff:169.254.169.254]/a.jpg", "metadata"),
        ("https://100.100.100.200/a.jpg", "metadata"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("https://224.0.0.1/a.jpg", "multicast"),
        ("https://[ff02::1]/a.jpg", "multicast"),
        ("https://0.0.0.0/a.jpg", "unspecified"),
        ("https://[::]/a.jpg", "unspecified"),
        ("https://0/a.jpg", "unspecified"),
        ("https://255.255.255.255/a.jpg", "reserved"),
        ("https://198.18.0.1/a.jpg", "benchmarking"),
        ("https://localhost/a.jpg", "local name"),
        ("https://images.localhost/a.jpg", "local name"),
        ("http://cdn.example.com/a.jpg", "only https"),
        ("ftp://cdn.example.com/a.jpg", "only https"),
        ("gs://bucket/a.jpg", "only https"),  # callers map gs:// to https first
        ("https://user:secret@cdn.example.com/a.jpg", "credentials"),
        ("https://user@cdn.example.com/a.jpg", "credentials"),
    ],
)
def test_refused_urls_say_why(url: str, why: str) -> None:
    with pytest.raises(EgressRefused, match=why):
        check_url(url, OPEN)


@pytest.mark.parametrize(
    "url",
    [
        "https://storage.googleapis.com/bucket/a.jpg",
        "https://8.8.8.8/a.jpg",
        "https://[2606:4700:4700::1111]/a.jpg",
        "https://[::ffff:8.8.8.8]/a.jpg",
        "https://cdn.example.com:8443/a.jpg?sig=1",
    ],
)
def test_public_urls_pass(url: str) -> None:
    assert str(check_url(url, OPEN)).startswith("https://")


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("192.168.257", "192.168.1.1"),
        ("1.2.3.4.", "1.2.3.4"),
        ("example.com", None),
        ("1.2.3.4.5", None),
        ("256.1.1.1", None),
        ("08.1.1.1", None),  # not octal, not decimal: a name
    ],
)
def test_every_ipv4_spelling_is_read_as_the_address_it_is(host: str, address: str | None) -> None:
    parsed = literal_address(host)
    assert (str(parsed) if parsed else None) == address


def test_an_allowed_network_or_host_lets_a_private_media_host_through_but_never_metadata() -> None:
    policy = EgressPolicy.parse(["10.20.0.0/16", "media.corp.example", "169.254.0.0/16"])
    assert str(check_url("https://10.20.3.4/a.jpg", policy)) == "https://10.20.3.4/a.jpg"
    with pytest.raises(EgressRefused, match="private"):
        check_url("https://10.21.0.1/a.jpg", policy)
    assert policy.address_refusal(ipaddress.ip_address("192.168.0.9"), "media.corp.example") is None
    assert policy.address_refusal(ipaddress.ip_address("192.168.0.9"), "other.example") == "a private address"
    with pytest.raises(EgressRefused, match="metadata"):
        check_url("https://169.254.169.254/", policy)


def test_blank_allow_list_entries_are_skipped() -> None:
    policy = EgressPolicy.parse(["", " 10.20.0.0/16 ", "  ", "Media.Corp.Example."])
    assert policy == EgressPolicy((ipaddress.ip_network("10.20.0.0/16"),), frozenset({"media.corp.example"}))


@pytest.mark.parametrize(
    ("url", "why"),
    [
        # Teredo, whose client address is 10.0.0.1
        ("https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/a.jpg", "an IPv6 form of 10.0.0.1, a private address"),
        ("https://[400::1]/a.jpg", "a reserved address"),
        ("https:///a.jpg", "the URL names no host"),
    ],
)
def test_more_refused_urls_say_exactly_why(url: str, why: str) -> None:
    with pytest.raises(EgressRefused) as caught:
        check_url(url, OPEN)
    assert str(caught.value).endswith(why)


def test_a_6to4_address_of_a_public_ipv4_address_passes() -> None:
    assert check_url("https://[2002:808:808::1]/a.jpg", OPEN).raw_host == "2002:808:808::1"


@pytest.mark.parametrize("entry", ["not a host!", "10.0.0.0/33", "a..b", "exa_mple.com"])
def test_a_bad_allow_list_entry_is_named(entry: str) -> None:
    with pytest.raises(ValueError, match="neither a network"):
        EgressPolicy.parse(["10.0.0.0/8", entry])



# --- redirects: each target is checked as the URL was --------------------------------------


@dataclass
class _Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    connection: None = None  # no socket: the peer check has nothing to look at

    def close(self) -> None:
        pass


@dataclass
class _Session:
    """Answers GETs from a table of URL -> (status, Location); records every URL asked."""

    answers: dict[str, tuple[int, str]]
    asked: list[str] = field(default_factory=list)

    async def get(self, url: URL, headers: object = None, allow_redirects: bool = True) -> _Answer:
        assert allow_redirects is False, "the guard follows redirects itself"
        self.asked.append(str(url))
        status, location = self.answers.get(str(url), (200, ""))
        return _Answer(status, {"Location": location} if location else {})


async def _follow(session: _Session, url: str, policy: EgressPolicy = OPEN) -> int:
    async with open_guarded(session, url, policy) as response:  # type: ignore[arg-type]
        return response.status


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("https://10.0.0.1/x.jpg", "10.0.0.1 is a private address"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://[fd00:ec2::254]/", "metadata"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("https://[::1]/x.jpg", "loopback"),
        ("https://2130706433/x.jpg", "loopback"),
        ("http://cdn.example.com/ok.jpg", "only https"),
        ("https://user:pw@cdn.example.com/ok.jpg", "credentials"),
        ("https://localhost/ok.jpg", "local name"),
    ],
)
async def test_a_redirect_to_a_refused_target_is_refused_before_it_is_asked(location: str, why: str) -> None:
    session = _Session({"https://cdn.example.com/a.jpg": (302, location)})
    with pytest.raises(EgressRefused, match=why):
        await _follow(session, "https://cdn.example.com/a.jpg")
    assert session.asked == ["https://cdn.example.com/a.jpg"]


async def test_a_relative_redirect_is_followed_on_the_same_host_and_checked() -> None:
    session = _Session({
        "https://cdn.example.com/a.jpg": (301, "/b.jpg"),
        "https://cdn.example.com/b.jpg": (307, "https://img.example.org/c.jpg"),
    })
    assert await _follow(session, "https://cdn.example.com/a.jpg") == 200
    assert session.asked == [
        "https://cdn.example.com/a.jpg", "https://cdn.example.com/b.jpg", "https://img.example.org/c.jpg",
    ]


async def test_redirects_are_followed_three_times_at_most() -> None:
    hops = {f"https://cdn.example.com/{i}": (302, f"https://cdn.example.com/{i + 1}") for i in range(5)}
    session = _Session(hops)
    with pytest.raises(EgressRefused, match="more than 3 redirects"):
        await _follow(session, "https://cdn.example.com/0")
    assert session.asked == [f"https://cdn.example.com/{i}" for i in range(4)]
    three = _Session({k: v for k, v in hops.items() if k < "https://cdn.example.com/3"})
    assert await _follow(three, "https://cdn.example.com/0") == 200


async def test_a_redirect_to_an_invalid_url_or_a_refused_first_url_asks_nothing_more() -> None:
    session = _Session({"https://cdn.example.com/a.jpg": (302, "https://[::1")})
    with pytest.raises(EgressRefused, match="a redirect to an invalid URL"):
        await _follow(session, "https://cdn.example.com/a.jpg")
    never = _Session({})
    with pytest.raises(EgressRefused, match="private"):
        await _follow(never, "https://192.168.0.2/a.jpg")
    assert never.asked == []


async def test_a_redirect_within_the_allow_list_is_followed_and_one_beyond_it_is_not() -> None:
    policy = EgressPolicy.parse(["10.20.0.0/16"])
    session = _Session({
        "https://10.20.0.5/a.jpg": (302, "https://10.20.9.9/b.jpg"),
        "https://10.20.9.9/b.jpg": (302, "https://10.21.0.1/c.jpg"),
    })
    with pytest.raises(EgressRefused, match=r"10\.21\.0\.1 is a private address"):
        await _follow(session, "https://10.20.0.5/a.jpg", policy)
    assert session.asked == ["https://10.20.0.5/a.jpg", "https://10.20.9.9/b.jpg"]
