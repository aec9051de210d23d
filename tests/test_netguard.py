"""The address guard alone: classification, resolution and refusal, without connecting."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from typing import ClassVar

import httpcore
import pytest

from monitor.errors import AddressBlocked
from monitor.fetch.netguard import GuardedBackend, address_problem, check_address, vetted_addresses

REFUSED = {
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "::1": "loopback",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "10.20.30.40": "private",
    "172.16.0.1": "private",
    "172.31.255.254": "private",
    "192.168.178.1": "private",
    "fc00::5": "private",
    "169.254.169.254": "link-local",
    "fe80::1": "link-local",
    "100.64.0.1": "shared address space (CGNAT)",
    "100.127.255.254": "shared address space (CGNAT)",
    "::ffff:127.0.0.1": "loopback",
    "::ffff:169.254.169.254": "link-local",
    "::10.0.0.1": "private",
    "64:ff9b::a00:1": "private",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "240.0.0.1": "reserved",
    "2002:7f00:1::1": "tunnels to loopback 127.0.0.1",
}

PUBLIC = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:93.184.216.34",
          "64:ff9b::5db8:d822", "172.32.0.1", "100.128.0.1"]


@pytest.mark.parametrize("address,reason", sorted(REFUSED.items()))
def test_non_public_addresses_are_refused_with_reason(address: str, reason: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) == reason
    with pytest.raises(AddressBlocked) as caught:
        check_address("feed.example", address)
    assert str(caught.value).startswith(
        f"address {ipaddress.ip_address(address)} of host feed.example")
    assert str(caught.value).endswith(f"({reason})")


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None
    check_address("www.example", address)


@pytest.mark.parametrize("spelling",
                         ["2130706433", "0177.0.0.1", "0x7f000001", "127.1", "localhost"])
def test_odd_spellings_of_loopback_are_resolved_and_refused(spelling: str) -> None:
    with pytest.raises(AddressBlocked, match=r"address (127\.0\.0\.1|::1) of host .* \(loopback\)"):
        asyncio.run(vetted_addresses(spelling, 80, frozenset()))


def test_allowed_host_may_resolve_to_loopback() -> None:
    addresses = asyncio.run(vetted_addresses("localhost", 80, frozenset({"localhost"})))
    assert "127.0.0.1" in addresses or "::1" in addresses


def test_public_literal_is_vetted_without_connecting() -> None:
    assert asyncio.run(vetted_addresses("93.184.216.34", 443, frozenset())) == ["93.184.216.34"]


def test_backend_refuses_before_any_connection_attempt() -> None:
    class Recorder(httpcore.AsyncNetworkBackend):
        calls: ClassVar[list[str]] = []

        async def connect_tcp(self, host: str, port: int, *args: object,
                              **kw: object) -> httpcore.AsyncNetworkStream:
            self.calls.append(host)
            raise httpcore.ConnectError("recorder never connects")

    inner = Recorder()
    backend = GuardedBackend(["LocalHost."], inner=inner)
    with pytest.raises(AddressBlocked, match=re.escape("169.254.169.254")):
        asyncio.run(backend.connect_tcp("169.254.169.254", 80))
    assert inner.calls == []
    with pytest.raises(httpcore.ConnectError):  # allowed (normalised name): tries the vetted IPs
        asyncio.run(backend.connect_tcp("localhost", 80))
    assert set(inner.calls) <= {"127.0.0.1", "::1"} and inner.calls


def test_idle_connection_is_readable_once_the_server_closes_it() -> None:
    """The pool asks every idle connection before each request whether the server closed
    it: the guarded stream answers from its socket, and says yes once the peer is gone."""

    async def scenario() -> list[object]:
        closed = asyncio.Event()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await closed.wait()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        stream = await GuardedBackend(["127.0.0.1"]).connect_tcp("127.0.0.1", port, timeout=5)
        seen: list[object] = [type(stream).__name__, stream.get_extra_info("is_readable"),
                              stream.get_extra_info("socket") is not None]
        closed.set()
        for _ in range(100):   # the FIN arrives within milliseconds
            if stream.get_extra_info("is_readable"):
                break
            await asyncio.sleep(0.01)
        seen.append(stream.get_extra_info("is_readable"))
        seen.append(stream.get_extra_info("server_addr"))
        await stream.aclose()
        server.close()
        await server.wait_closed()
        return seen

    kind, before, has_socket, after, peer = asyncio.run(scenario())
    assert kind == "KnownSocketStream"
    assert (before, has_socket, after) == (False, True, True)
    assert peer is not None and peer[0] == "127.0.0.1"   # other questions reach the inner stream
