"""The client's real address behind trusted reverse proxies: the one answer the sign-in throttle and the audit
log both use (`phare.audit.log.client_ip` calls `client_address`).

`PHARE_TRUSTED_PROXIES` lists the addresses or networks (CIDR) of the proxies in front of Phare. When the peer
that connected (`REMOTE_ADDR`) is one of them, `X-Forwarded-For` is read from right to left, skipping trusted
hops, and the first address that is not a trusted proxy is the client: every hop to its left was written by the
client itself and may be forged. When the peer is not a trusted proxy, the header is ignored altogether.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# A longer header is not walked further: a real chain of proxies is a handful of hops.
MAX_HOPS = 20


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "PHARE_TRUSTED_PROXIES", ())))


def parse(text: str) -> Address | None:
    """An address as a proxy writes it (`203.0.113.7`, `2001:db8::1`, `[2001:db8::1]:443`, `203.0.113.7:5123`),
    IPv4-mapped IPv6 read as IPv4; None for anything else."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def is_trusted(addr: Address | None, networks: tuple[Network, ...]) -> bool:
    return addr is not None and any(addr.version == n.version and addr in n for n in networks)


def client_address(request: HttpRequest | None) -> str:
    """The address of the client behind the trusted proxies (see the module's docstring); '' without a request."""
    if request is None:
        return ""
    peer_text = str(request.META.get("REMOTE_ADDR", ""))
    networks = trusted_networks()
    peer = parse(peer_text)
    if not networks or not is_trusted(peer, networks):
        return str(peer) if peer is not None else peer_text
    hops = [h for h in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if h.strip()]
    client = peer
    for hop in reversed(hops[-MAX_HOPS:]):
        addr = parse(hop)
        if addr is None:
            break  # not an address: written by the client, so the last trusted hop is all we know
        client = addr
        if not is_trusted(addr, networks):
            break
    return str(client)
