"""The one address policy for every remote dockyard contacts for a user (git remotes, source
bundles, notification webhooks): never its own machine or a private network (SSRF) unless
the operator allows those targets in DOCKYARD_FETCH_ALLOW (networks such as `127.0.0.0/8`, or
host names). Only global addresses pass: loopback, private, link-local, CGNAT/shared
(100.64.0.0/10, where clouds put metadata services), reserved, multicast, unspecified,
benchmarking and documentation ranges are refused, and so are the IPv4-mapped, NAT64 and
6to4 forms of those.

A name is resolved once and every address it has must pass; the caller then connects to the
checked address (`Target.address`), never to what a second lookup answers (DNS rebinding).
For HTTP, `PinnedTransport` does that for httpx."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses the name has, in the resolver's order.
Resolver = Callable[[str, int], list[IPAddress]]

DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22, "git": 9418}
# Not in `ipaddress`'s private tables (Python 3.11) but never a public host.
NON_GLOBAL = (
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class RefusedTarget(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Target:
    """A remote that passed the policy: connect to `address`, name it `host`."""

    host: str
    port: int
    address: IPAddress


def system_resolver(host: str, port: int) -> list[IPAddress]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RefusedTarget(f"cannot resolve {host!r}: {exc.strerror}") from None
    except ValueError:  # IDNA cannot encode it (an empty or too long label, a NUL character)
        raise RefusedTarget(f"{host!r} is not a valid host name") from None
    addresses: list[IPAddress] = []
    for info in found:
        address = ipaddress.ip_address(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def literal_address(host: str) -> IPAddress | None:
    """The address `host` spells without DNS: an IP literal, also in the forms the C resolver
    and curl read as one (`127.000.000.001`, `0x7f.1`, `2130706433`)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):  # not an address; ValueError: a NUL in it
        return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _global(address: IPAddress) -> bool:
    return (
        address.is_global
        and not address.is_multicast
        and not any(address in network for network in NON_GLOBAL)
    )


def _refused(address: IPAddress) -> bool:
    """Whether the policy refuses `address` (before DOCKYARD_FETCH_ALLOW is asked)."""
    embedded = _embedded_ipv4(address)
    return not _global(embedded if embedded is not None else address)


def _allowed(host: str, address: IPAddress, allow: Sequence[str]) -> bool:
    forms = [address, *filter(None, [_embedded_ipv4(address)])]
    for entry in allow:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            if entry.lower() == host.lower():
                return True
            continue
        if any(form.version == network.version and form in network for form in forms):
            return True
    return False


def check_address(host: str, address: IPAddress, allow: Sequence[str]) -> None:
    if _refused(address) and not _allowed(host, address, allow):
        raise RefusedTarget(
            f"{host} is {address}, an address of this machine or a private network; allow "
            "it in DOCKYARD_FETCH_ALLOW to reach it (bundles, webhooks and git remotes)"
        )


def check_host(
    host: str, port: int, allow: Sequence[str], resolver: Resolver = system_resolver
) -> Target:
    """The address to connect to for `host`: its literal, or the first the resolver answers,
    once every one of them passed. (Blocking: it may ask the resolver.)"""
    host = host.strip("[]")
    literal = literal_address(host)
    addresses = [literal] if literal is not None else resolver(host, port)
    if not addresses:
        raise RefusedTarget(f"cannot resolve {host!r}: no address")
    for address in addresses:
        check_address(host, address, allow)
    return Target(host, port, addresses[0])


def check_fetchable(url: str, allow: Sequence[str], resolver: Resolver = system_resolver) -> Target:
    """The checked target of an http(s) `url`; RefusedTarget unless every address of its
    host is public or allowed. (Blocking: it may ask the resolver.)"""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # an unclosed `[` of an IPv6 host, a port out of range
        raise RefusedTarget("not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget("only http and https URLs with a host are fetched")
    return check_host(parts.hostname, port or DEFAULT_PORTS[parts.scheme], allow, resolver)


class PinnedTransport(httpx.AsyncBaseTransport):
    """httpx through the address policy: each request's host is checked and the connection
    made to the checked address, with the name kept for the Host header, TLS SNI and
    certificate verification. Proxies from the environment are never used (one would resolve
    the name again). A refused host raises RefusedTarget.

    One connection pool per host name: a pooled TLS connection, verified for one name, must
    not carry a request for another name that has the same address."""

    def __init__(
        self,
        allow: Sequence[str],
        *,
        limits: httpx.Limits | None = None,
        verify: ssl.SSLContext | bool = True,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.allow = list(allow)
        self.limits = limits or httpx.Limits()
        self.verify = verify
        self.resolver = resolver
        self._pools: dict[str, httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        target = await asyncio.to_thread(check_fetchable, url, self.allow, self.resolver)
        pinned = httpx.Request(
            request.method,
            request.url.copy_with(host=str(target.address)),
            headers=request.headers,  # its Host header names the host, as the URL did
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": target.host},
        )
        pool = self._pools.get(target.host)
        if pool is None:
            pool = self._pools[target.host] = httpx.AsyncHTTPTransport(
                verify=self.verify, limits=self.limits, trust_env=False
            )
        return await pool.handle_async_request(pinned)

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()
