"""What a web page in someone's browser may ask of the HTTP port: the `Host` and `Origin`
rules that keep an open service on loopback out of reach of other sites.

A service without API keys or mutual TLS trusts whoever can connect, which on loopback means
the people and programs of this machine. A browser on this machine can connect too, on
behalf of any site it has open:

- **DNS rebinding.** A page at `http://attacker.example:8080` has its name re-pointed to
  127.0.0.1; the browser then treats the service as that page's own origin and lets it read
  every answer. The browser still sends `Host: attacker.example:8080`, so an open service
  answers only a `Host` that names this machine: `localhost` and `*.localhost` (RFC 6761,
  which browsers resolve to loopback themselves), a loopback address (127.0.0.0/8, ::1), the
  address it listens on, and what the operator lists (DISTRIBUTION_HTTP_ALLOWED_HOSTS: names,
  and networks for a `Host` written as an address). A rebinding attacker controls a name,
  never which address literal the browser puts in `Host`.
- **Cross-site requests.** Any page may send a "simple" request (a POST with an empty body,
  or a form's content type) without a CORS preflight, and the service would act on it even
  though the page cannot read the answer. Browsers send `Origin` with every cross-site
  request and every POST, so a request whose `Origin` is not this service's own origin (the
  scheme it is served with, and the host and port of its `Host`) is refused; curl, grpcurl
  and backend clients send no `Origin` and are not affected, nor is the console, which is
  served from the same origin.

The `Origin` rule also holds with mutual TLS, since a browser presents its client
certificate on cross-site requests as it sends cookies; with API keys alone it does not
apply (a key travels in a header a page must set itself, which a cross-site page can only do
after a CORS preflight this service never grants), and neither does the `Host` rule (a
rebound page holds no key; with TLS the certificate does not match its name).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web
from google.rpc import code_pb2

from server.http_gateway.errors import Refused, shown
from server.http_gateway.transcode import BadRequest

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_HOSTS_SETTING = "DISTRIBUTION_HTTP_ALLOWED_HOSTS"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# host (a name, an IPv4 address, or an IPv6 address in brackets) and an optional port: what
# RFC 9110 section 7.2 allows in Host, with nothing else (no user, path or spaces).
_HOST_HEADER = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)(?::([0-9]{1,5}))?")


@dataclass(frozen=True)
class Authority:
    """A host (lower case, no brackets, no trailing dot) and a port, as Host or Origin name them."""

    host: str
    port: int | None

    @classmethod
    def of_host_header(cls, value: str) -> Authority | None:
        matched = _HOST_HEADER.fullmatch(value)
        if matched is None:
            return None
        return cls(_normal_host(matched.group(1)), int(matched.group(2)) if matched.group(2) else None)


def _normal_host(host: str) -> str:
    return host.strip("[]").lower().rstrip(".")


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


@dataclass(frozen=True)
class BrowserGuard:
    """The Host rule (when `hosts_checked`) and the Origin rule (when `origins_checked`) for
    one HTTP port served with `scheme`."""

    scheme: str
    hosts_checked: bool
    origins_checked: bool
    allowed_names: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def for_port(
        cls, *, open_service: bool, mutual_tls: bool, tls: bool, listen_host: str, allowed: Iterable[str] = ()
    ) -> BrowserGuard:
        """The rules for a port listening on `listen_host`: both when the service is open,
        the Origin rule alone with mutual TLS, none with API keys alone. `allowed` holds the
        operator's extra host names and networks (CIDR), checked at start by the settings."""
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (_normal_host(e.strip()) for e in (*allowed, listen_host)):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry)
        return cls(
            scheme="https" if tls else "http",
            hosts_checked=open_service,
            origins_checked=open_service or mutual_tls,
            allowed_names=frozenset(names),
            allowed_networks=tuple(networks),
        )

    @property
    def active(self) -> bool:
        return self.hosts_checked or self.origins_checked

    def check(self, request: web.BaseRequest) -> None:
        """Raises Refused (403) for a Host or an Origin the rules refuse, BadRequest for either
        header sent twice (which one a proxy or the browser meant is anyone's guess)."""
        if not self.active:
            return
        for name in ("Host", "Origin"):
            if len(request.headers.getall(name, ())) > 1:
                raise BadRequest(f"The {name} header must be sent once; this request sends it more than once",
                                 field=name)
        host_header = request.headers.get("Host")
        own = Authority.of_host_header(host_header) if host_header is not None else None
        if self.hosts_checked and host_header is not None and (own is None or not self._host_allowed(own.host)):
            raise Refused(
                403, code_pb2.PERMISSION_DENIED,
                f"The Host header names '{shown(host_header, 100)}', which is not this machine: a service without "
                f"authentication answers only localhost, loopback addresses, its own listen address and the hosts "
                f"in {ALLOWED_HOSTS_SETTING} (a page that re-pointed its name here, DNS rebinding, is refused)",
                "HOST_NOT_ALLOWED", metadata={"header": "Host"},
            )
        origin = request.headers.get("Origin")
        if self.origins_checked and origin is not None and not self._own_origin(origin, own):
            raise Refused(
                403, code_pb2.PERMISSION_DENIED,
                f"The Origin header names '{shown(origin, 100)}', which is not this service's own origin: a page of "
                f"another site may not call this service (a request without Origin, as curl and backend clients "
                f"send, is not affected)",
                "CROSS_ORIGIN_REFUSED", metadata={"header": "Origin"},
            )

    def _host_allowed(self, host: str) -> bool:
        if host == "localhost" or host.endswith(".localhost") or host in self.allowed_names:
            return True
        address = _address(host)
        if address is None:
            return False
        mapped = getattr(address, "ipv4_mapped", None)
        return any(
            candidate.is_loopback or any(candidate in network for network in self.allowed_networks)
            for candidate in (address, mapped) if candidate is not None
        )

    def _own_origin(self, origin: str, own: Authority | None) -> bool:
        """Whether `origin` (as browsers serialize it: scheme://host[:port]) is this service's
        own: the scheme it is served with, and the host and port of the request's Host."""
        if own is None:
            return False
        try:
            parts = urlsplit(origin)
            port = parts.port
        except ValueError:
            return False
        if parts.scheme.lower() != self.scheme or parts.path or parts.query or parts.fragment or parts.username:
            return False
        if parts.hostname is None:
            return False
        default = _DEFAULT_PORTS[self.scheme]
        return (_normal_host(parts.hostname), port or default) == (own.host, own.port or default)

