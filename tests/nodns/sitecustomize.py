"""A machine without DNS, for the interpreters of tests that put this folder on PYTHONPATH.

Python imports ``sitecustomize`` at start-up: this one makes every name lookup fail the way
glibc does when no name server answers (``[Errno -2] Name or service not known``), except
for 127.0.0.1 and localhost, where the tests' own servers listen. No query leaves the
process, so nothing but 127.0.0.1 is ever reached.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_lookup = socket.getaddrinfo
_LOCAL = {"localhost", "127.0.0.1", "::1"}


def _no_dns(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name is None or name in _LOCAL or _is_address(name):
        return _lookup(host, *args, **kwargs)
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


socket.getaddrinfo = _no_dns
