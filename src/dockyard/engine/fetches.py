"""Which URLs the server may fetch for a user (source bundles): never its own machine or a
private network (SSRF), unless the operator allows those targets in DOCKYARD_FETCH_ALLOW
(networks such as `127.0.0.0/8`, or host names)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedTarget(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _internal(address: IPAddress) -> bool:
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def _allowed(host: str, address: IPAddress, allow: Sequence[str]) -> bool:
    for entry in allow:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            if entry.lower() == host.lower():
                return True
    return False


def addresses_of(host: str) -> list[IPAddress]:
    """Every address `host` names (a literal, or what the resolver answers)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise RefusedTarget(f"cannot resolve {host!r}: {exc.strerror}") from None
    except UnicodeError:  # IDNA cannot encode it (an empty or too long label, a bad character)
        raise RefusedTarget(f"{host!r} is not a valid host name") from None
    return [ipaddress.ip_address(info[4][0]) for info in found]


def check_fetchable(url: str, allow: Sequence[str]) -> None:
    """RefusedTarget unless `url` is http(s) and every address of its host is public or
    allowed. (Blocking: it may ask the resolver.)"""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed `[` of an IPv6 host
        raise RefusedTarget("not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget("only http and https URLs with a host are fetched")
    for address in addresses_of(parts.hostname):
        if _internal(address) and not _allowed(parts.hostname, address, allow):
            raise RefusedTarget(
                f"{parts.hostname} is {address}, an address of this machine or a private "
                "network; allow it in DOCKYARD_FETCH_ALLOW to fetch from it"
            )
