"""Facts of this installation, kept in the ``meta`` table.

Owns the installation id: a random word made once, the first time it is asked for (by any
process: the first insert wins and every process reads the same one), and kept for the
store's life. Message-IDs carry it, so two installations never give a story the same id.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select

from monitor.store.db import StoreBase
from monitor.store.dialect import insert_ignore
from monitor.store.schema import meta

INSTALLATION = "installation_id"
ALPHABET = "abcdefghijkmnopqrstuvwxyz23456789"


def new_installation_id() -> str:
    """Ten random characters from an alphabet without look-alikes (about 50 bits)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(10))


class MetaMixin(StoreBase):
    def installation_id(self) -> str:
        """This installation's random id, made on first use."""
        with self._db.read() as conn:
            found = conn.scalar(select(meta.c.value).where(meta.c.name == INSTALLATION))
        if found:
            return str(found)
        with self._db.write() as conn:
            conn.execute(insert_ignore(conn, meta, ["name"]).values(
                name=INSTALLATION, value=new_installation_id()))
            return str(conn.scalar(select(meta.c.value).where(meta.c.name == INSTALLATION)))
