"""The guard for server-side requests to URLs a caller chose (media inspection now; webhook
deliveries later): such a request must never reach this service's own machine, its private
network or a cloud metadata endpoint (SSRF).

Rules, each checked before a byte is sent:

- the URL is `https` (callers map `gs://` to its public https form first), names a host,
  and carries no credentials;
- its host, if written as an address (IPv4 in any spelling `inet_aton` takes: dotted,
  decimal `2130706433`, octal `0177.0.0.1`, hex `0x7f.1`, short `127.1`; IPv6, with
  v4-mapped, v4-compatible, NAT64, 6to4 and Teredo forms read for the IPv4 inside), must be
  a public one; so must every address its name resolves to (a name with any refused address
  is refused), and the connection is made to those checked addresses only, by the resolver
  the connector uses, so a second DNS answer (rebinding) cannot slip in. The peer address of
  the connection is checked once more after connecting;
- refused addresses: unspecified, loopback, private (RFC 1918, RFC 4193 fc00::/7), shared
  (CGNAT 100.64.0.0/10), link-local, multicast, broadcast, documentation, benchmarking and
  reserved ranges, IETF protocol assignments, site-local; and cloud metadata endpoints
  (169.254.169.254, 169.254.170.2, fd00:ec2::254, 100.100.100.200, 168.63.129.16) and names
  (metadata.google.internal, ...) always, even inside an allowed network;
- redirects are followed by hand, at most `MAX_REDIRECTS`, each target checked by the same
  rules; time and bytes are the caller's to cap (`GuardedFetch` takes both).

A deployment whose media sit on a private host can allow it (`EgressPolicy.parse`):
networks in CIDR form (`10.20.0.0/16`) whose addresses are then allowed for any name, or
host names whose own addresses are allowed whatever they are.

Public API: `EgressPolicy`, `EgressRefused`, `check_url`, `GuardedResolver`,
`guarded_session`, `open_guarded`.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# Cloud instance metadata services: never reachable, whatever is allowed.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure WireServer (a public-range address)
    )
)
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data",
                            "instance-data.ec2.internal"})

# Ranges `ipaddress` does not flag by itself (or flags only in some Python versions).
_EXTRA_REFUSED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), why)
    for net, why in (
        ("0.0.0.0/8", "an address of 0.0.0.0/8 ('this network')"),
        ("100.64.0.0/10", "a shared (CGNAT) address"),
        ("192.0.0.0/24", "an IETF protocol assignment"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("240.0.0.0/4", "a reserved address"),
        ("fec0::/10", "a site-local address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001:db8::/32", "a documentation address"),
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EgressRefused(Exception):
    """The guard refused a URL or an address; the message says why, fit for an error text."""


@dataclass(frozen=True)
class EgressPolicy:
    """What the guard lets through beyond public addresses (nothing, by default)."""

    allow_networks: tuple[IPNetwork, ...] = ()
    allow_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, entries: Iterable[str]) -> EgressPolicy:
        """From allow-list entries: CIDRs (or single addresses) and host names. Raises
        ValueError naming the first entry that is neither."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            name = entry.lower().rstrip(".")
            labels = name.split(".")
            if "/" in name or not all(
                label and len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()
                for label in labels
            ):
                raise ValueError(f"{entry!r} is neither a network in CIDR form nor a host name")
            hosts.add(name)
        return cls(tuple(networks), frozenset(hosts))

    def address_refusal(self, address: IPAddress, host: str = "") -> str | None:
        """Why the guard refuses to connect to `address` (reached by the name `host`), as a
        noun phrase ("a loopback address"), or None when it may."""
        inner = _embedded_ipv4(address)
        if address in METADATA_ADDRESSES or inner in METADATA_ADDRESSES:
            return "a cloud metadata address"
        if host and host.lower().rstrip(".") in self.allow_hosts:
            return None
        if any(address in net or (inner is not None and inner in net) for net in self.allow_networks):
            return None
        if inner is not None:
            inner_why = _refusal(inner)
            if inner_why is not None:
                return f"an IPv6 form of {inner}, {inner_why}"
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                # ::ffff:a.b.c.d is a.b.c.d on the wire
                return None
        return _refusal(address)


def _refusal(address: IPAddress) -> str | None:
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    for net, why in _EXTRA_REFUSED:
        if address.version == net.version and address in net:
            return why
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a public address"
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv6 one that carries it (v4-mapped, v4-compatible, NAT64,
    6to4, Teredo client), or None."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    packed = int(address)
    if address in _NAT64:
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    if packed >> 32 == 0 and packed > 1:  # ::a.b.c.d, deprecated "IPv4-compatible"
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host written as one stands for, in every spelling a resolver takes
    (IPv4 as inet_aton reads it: 1-4 parts, each decimal, octal with a leading 0, or hex
    with 0x); None for a host name."""
    name = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(name.split("%", 1)[0] if ":" in name else name)
    except ValueError:
        pass
    parts = name.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                values.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                if not part.isdigit():
                    return None
                values.append(int(part))
        except ValueError:
            return None
    # a.b.c.d, a.b.(16 bits), a.(24 bits), (32 bits)
    *head, last = values
    if any(v > 255 for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    number = last
    for i, v in enumerate(head):
        number |= v << (24 - 8 * i)
    return ipaddress.IPv4Address(number)


def check_url(url: str | URL, policy: EgressPolicy, *, allow_http: bool = False) -> URL:
    """The URL, if the guard lets it be fetched; else EgressRefused saying why. Names are
    checked when they resolve (GuardedResolver). `allow_http` lets plain http through too
    (webhooks to a loopback receiver in tests; the address rules still apply)."""
    try:
        parsed = url if isinstance(url, URL) else URL(url)
        host = parsed.raw_host or ""
    except (ValueError, TypeError):
        raise EgressRefused("it is not a valid URL") from None
    if parsed.scheme != "https" and not (allow_http and parsed.scheme == "http"):
        raise EgressRefused(f"only https URLs are fetched, not {parsed.scheme or 'a relative URL'}")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise EgressRefused("the URL carries credentials")
    if not host:
        raise EgressRefused("the URL names no host")
    name = host.lower().rstrip(".")
    address = literal_address(name)
    if address is not None:
        why = policy.address_refusal(address)
        if why is not None:
            raise EgressRefused(f"{host} is {why}")
        return parsed
    if name in METADATA_HOSTS:
        raise EgressRefused(f"{name} is a cloud metadata host")
    if name not in policy.allow_hosts and (name == "localhost" or name.endswith((".localhost", ".internal"))):
        raise EgressRefused(f"{name} is a local name")
    return parsed


class GuardedResolver(AbstractResolver):
    """Resolves names for the connector and returns only addresses the policy allows: the
    connection is made to exactly these, so what was checked is what is connected to. A
    name with any refused address is refused whole (EgressRefused)."""

    def __init__(self, policy: EgressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = ipaddress.ip_address(result["host"].split("%", 1)[0])
            why = self._policy.address_refusal(address, host)
            if why is not None:
                raise EgressRefused(f"{host} resolves to {address}, {why}")
        if not results:
            raise OSError(f"{host} has no address")
        return results

    async def close(self) -> None:
        await self._inner.close()


def guarded_session(
    policy: EgressPolicy,
    *,
    limit: int = 100,
    ssl_context: ssl.SSLContext | None = None,
    resolver: AbstractResolver | None = None,
) -> aiohttp.ClientSession:
    """A session whose every connection goes through the guard's resolver: no DNS cache
    (every connection resolves and checks anew), no proxies from the environment, no
    decompression (bytes are counted as sent)."""
    connector = aiohttp.TCPConnector(
        limit=limit,
        use_dns_cache=False,
        resolver=GuardedResolver(policy, resolver),
        ssl=ssl_context if ssl_context is not None else True,
    )
    return aiohttp.ClientSession(connector=connector, trust_env=False, auto_decompress=False)


@asynccontextmanager
async def open_guarded(
    session: aiohttp.ClientSession,
    url: str | URL,
    policy: EgressPolicy,
    *,
    headers: dict[str, str] | None = None,
    max_redirects: int = MAX_REDIRECTS,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """GET `url` on a `guarded_session`, following at most `max_redirects` redirects, each
    target checked; yields the final response (its body unread). Raises EgressRefused."""
    target = check_url(url, policy)
    for hop in range(max_redirects + 1):
        response = await session.get(target, headers=headers, allow_redirects=False)
        try:
            check_peer(response, policy, target)
            location = response.headers.get("Location")
            if response.status not in REDIRECT_STATUSES or not location:
                yield response
                return
            if hop == max_redirects:
                raise EgressRefused(f"more than {max_redirects} redirects")
            try:
                target = check_url(target.join(URL(location)), policy)
            except ValueError:
                raise EgressRefused("a redirect to an invalid URL") from None
        finally:
            response.close()
    raise AssertionError("unreachable")  # pragma: no cover


def check_peer(response: aiohttp.ClientResponse, policy: EgressPolicy, target: URL) -> None:
    """The address actually connected to, checked once more (the resolver allowed it)."""
    connection = response.connection
    transport = connection.transport if connection is not None else None
    peer = transport.get_extra_info("peername") if transport is not None else None
    if not peer:
        return
    address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
    why = policy.address_refusal(address, target.raw_host or "")
    if why is not None:
        raise EgressRefused(f"the connection reached {address}, {why}")
