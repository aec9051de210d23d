"""Password hashes for the desk's users: scrypt (hashlib), in one self-describing line.

Owns the hash format ``$scrypt$n=16384,r=8,p=1$<salt>$<hash>`` (URL-safe base64), made by
``news-monitor hash-password`` and checked at login in constant time. A malformed hash
never matches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1
PREFIX = "$scrypt$"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * 1024 * 1024, dklen=32)


def hash_password(password: str) -> str:
    """The hash line for ``password`` with a fresh salt."""
    salt = secrets.token_bytes(16)
    return f"{PREFIX}n={N},r={R},p={P}${_b64(salt)}${_b64(_derive(password, salt, N, R, P))}"


def check_password(password: str, hashed: str) -> bool:
    """True when ``password`` matches ``hashed``."""
    try:
        _, kind, params, salt, digest = hashed.split("$")
        costs = dict(item.split("=", 1) for item in params.split(","))
        n, r, p = int(costs["n"]), int(costs["r"]), int(costs["p"])
        if kind != "scrypt" or n > 2**20:
            return False
        derived = _derive(password, _unb64(salt), n, r, p)
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(derived, _unb64(digest))
