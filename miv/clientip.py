"""The client's address behind reverse proxies, for the login throttle (django-axes).

Behind a proxy every request comes from the proxy's address (``REMOTE_ADDR``); the client's
own address is in ``X-Forwarded-For``, which each proxy extends with the address it saw.
A client can put anything in that header, so only what *trusted* proxies appended counts:

* ``MIV_TRUSTED_PROXIES`` lists the proxies' addresses or networks (``127.0.0.1``,
  ``172.16.0.0/12``). Empty (the default): no proxy is trusted and the client is
  ``REMOTE_ADDR``, which is right when gunicorn faces the clients itself.
* With proxies listed, the address list is read from the right, starting with
  ``REMOTE_ADDR``: each address that belongs to a trusted proxy is skipped, the first one
  that does not is the client. What a client wrote into the header itself stays left of
  that and is never used. (The same rule as nginx's ``real_ip_recursive on``.)

Why not django-ipware (axes' optional resolver): its trusted-proxy list matches address
prefixes as text, not networks, and a count of hops breaks as soon as a second proxy (a
load balancer) is put in front. This is twenty lines with :mod:`ipaddress`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``["127.0.0.1", "10.0.0.0/8"]`` -> networks; a bad entry is a configuration error."""
    networks = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"MIV_TRUSTED_PROXIES: {value!r} is not an IP address or network"
            ) from None
    return tuple(networks)


@lru_cache(maxsize=8)
def _trusted(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "192.0.2.1:5555"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket (::ffff:192.0.2.1) is that IPv4 client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def resolve(remote_addr: str, forwarded_for: str, trusted: tuple[Network, ...]) -> str | None:
    """The client address from ``REMOTE_ADDR`` and ``X-Forwarded-For`` (pure function)."""
    chain = [part for part in forwarded_for.split(",") if part.strip()] if forwarded_for else []
    candidates = [remote_addr, *reversed(chain)]
    client = None
    for raw in candidates:
        address = _address(raw)
        if address is None:
            # Garbage where an address should be: stop at the last good one.
            break
        client = address
        if not any(address in network for network in trusted):
            break
    return str(client) if client is not None else None


def client_ip(request: HttpRequest) -> str | None:
    """``AXES_CLIENT_IP_CALLABLE``: the client's address as ``MIV_TRUSTED_PROXIES`` allows."""
    trusted = _trusted(tuple(getattr(settings, "MIV_TRUSTED_PROXIES", ())))
    remote_addr = request.META.get("REMOTE_ADDR", "")
    if not trusted:
        address = _address(remote_addr)
        return str(address) if address else None
    return resolve(remote_addr, request.META.get("HTTP_X_FORWARDED_FOR", ""), trusted)
