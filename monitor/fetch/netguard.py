"""The address guard: which IP addresses the fetcher may connect to, checked at connect time.

Article links come from feeds and are untrusted, so a URL must never make us talk to the
loopback interface, the LAN, a cloud metadata service or any other non-public address. The
check happens on the *resolved* address of every connection (DNS rebinding defeats checks on
the URL string): ``GuardedBackend`` is an httpcore network backend that resolves the host
itself, vets every address it got, and connects only to a vetted one, while TLS still uses
the host name for SNI and certificate checks. Hosts named in ``allow`` (as written in URLs)
may resolve anywhere. Its streams (``KnownSocketStream``) answer httpcore's "has this idle
connection been closed?" from the socket found once at connect time. This module owns the
address classification, the resolution, the backend and the httpx transport built on it
(``guarded_transport``); it reads no HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import select
import socket
import ssl
from collections.abc import Iterable

import httpcore
import httpx

from monitor.errors import AddressBlocked, TransportFailure

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

# (predicate name on ipaddress objects, reason shown to the user), checked in this order
_CHECKS = (
    ("is_unspecified", "unspecified"),
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_reserved", "reserved"),
    ("is_private", "private"),
)


def normalise_host(host: str) -> str:
    """The form a host takes in allow lists and in httpcore: lower case, no IPv6 brackets."""
    return host.strip().strip("[]").lower().rstrip(".")


def _translated_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, IPv4-compatible, NAT64)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _tunnelled_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 end point a tunnel address carries (6to4 gateway, Teredo client)."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be connected to (e.g. ``"loopback"``), or None if it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        translated = _translated_ipv4(ip)
        if translated is not None:
            return address_problem(translated)
        tunnelled = _tunnelled_ipv4(ip)
        problem = address_problem(tunnelled) if tunnelled is not None else None
        if problem is not None:
            return f"tunnels to {problem} {tunnelled}"
    if isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT:
        return "shared address space (CGNAT)"
    for attribute, reason in _CHECKS:
        if getattr(ip, attribute):
            return reason
    if not ip.is_global:
        return "not globally routable"
    return None


def check_address(host: str, address: str) -> None:
    """Raise AddressBlocked if ``address`` (a resolved IP of ``host``) is not public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    problem = address_problem(ip)
    if problem is not None:
        raise AddressBlocked(f"address {ip} of host {host} is not allowed ({problem})")


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (getaddrinfo order, no duplicates)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TransportFailure(f"cannot resolve host {host}: {exc}") from None
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(str(sockaddr[0]))
    return addresses


async def vetted_addresses(host: str, port: int, allow: frozenset[str]) -> list[str]:
    """Resolve ``host`` and refuse it unless every address is public or the host is allowed."""
    addresses = await resolve(host, port)
    if normalise_host(host) not in allow:
        for address in addresses:
            check_address(host, address)
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to vetted addresses of a host."""

    def __init__(
        self, allow: Iterable[str], inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._allow = frozenset(normalise_host(host) for host in allow)
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await vetted_addresses(host, port, self._allow)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        return await self._connect_first(host, addresses, port, timeout, local_address,
                                         socket_options)

    async def _connect_first(
        self,
        host: str,
        addresses: list[str],
        port: int,
        timeout: float | None,
        local_address: str | None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None,
    ) -> httpcore.AsyncNetworkStream:
        """Try the vetted addresses in order; if none answers, say why the last one failed."""
        failure: BaseException = OSError("host resolved to no address")
        for address in addresses:
            try:
                return KnownSocketStream(await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                ))
            except httpcore.ConnectError as exc:
                failure = _root_cause(exc)
        tried = ", ".join(addresses)
        reason = f"{type(failure).__name__}: {failure}"
        raise httpcore.ConnectError(f"cannot connect to {host} port {port} ({tried}): {reason}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressBlocked(f"unix socket {path} is not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class KnownSocketStream(httpcore.AsyncNetworkStream):
    """A network stream that knows its socket.

    Before every request httpcore asks each idle connection of the pool whether its socket
    became readable (the server closed it). The anyio stream answers by building its whole
    table of attributes, a ``getpeername`` call included, on every question: with 8
    connections that was the largest part of the fetcher's CPU. This stream finds the
    socket once and polls it; everything else goes to the stream it wraps.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return KnownSocketStream(
            await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> object:
        if info == "is_readable":
            return readable(self._socket)
        if info == "socket":
            return self._socket
        return self._inner.get_extra_info(info)


def readable(sock: socket.socket | None) -> bool:
    """Whether ``sock`` has data or an end of file waiting (a closed socket counts as
    readable, as httpcore counts it: the connection is not reused)."""
    if sock is None or sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _root_cause(exc: BaseException) -> BaseException:
    cause = exc.__cause__ or exc.__context__
    while cause is not None:
        exc, cause = cause, cause.__cause__ or cause.__context__
    return exc


def guarded_transport(
    allow: frozenset[str], context: ssl.SSLContext, *, max_connections: int,
    proxy: str | None = None,
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection goes through ``GuardedBackend``.

    Environment settings (proxies, certificate paths) are ignored. Behind a proxy the proxy
    makes the connections, so only ``precheck_behind_proxy`` applies.
    """
    limits = httpx.Limits(max_connections=max_connections,
                          max_keepalive_connections=max_connections)
    transport = httpx.AsyncHTTPTransport(verify=context, trust_env=False, limits=limits,
                                         proxy=proxy)
    if proxy is None:  # httpx 0.28 has no public hook for the network backend: swap the pool
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            network_backend=GuardedBackend(allow),
        )
    return transport


async def precheck_behind_proxy(host: str, port: int, allow: frozenset[str]) -> None:
    """Behind a proxy, vet what we can resolve ourselves (best effort: the proxy resolves)."""
    with contextlib.suppress(TransportFailure):  # names only the proxy resolves: its business
        await vetted_addresses(host, port, allow)
