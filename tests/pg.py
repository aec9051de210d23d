"""Throwaway PostgreSQL clusters for tests (``test_store_pg.py``, ``test_scaleout.py``).

``find_tool`` looks for ``initdb`` and ``pg_ctl`` on PATH, in /usr/local/bin and where
Debian's ``postgresql`` package installs them (/usr/lib/postgresql/<version>/bin, newest
version first). A ``Cluster`` lives in a temporary directory, listens only on a unix socket
there (under a free port number; no TCP), runs with fsync off, and is stopped and removed
afterwards. initdb refuses to run as root, so as root the cluster is made and run as the
``postgres`` user through ``runuser``. ``cluster_or_skip`` skips the calling tests with the
reason when any of this is missing or fails. ``Cluster.database`` makes a fresh database
and returns its SQLAlchemy URL. The benchmark (``bench/scaleout.py``) uses ``Cluster`` too,
so this module needs pytest only in ``cluster_or_skip``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEBIAN_BIN = Path("/usr/lib/postgresql")


def find_tool(name: str) -> str | None:
    """``name`` on PATH, in /usr/local/bin, or in the newest Debian PostgreSQL version."""
    found = shutil.which(name)
    if found:
        return found
    candidates = [Path("/usr/local/bin") / name]
    if DEBIAN_BIN.is_dir():
        versions = sorted((p for p in DEBIAN_BIN.iterdir() if re.fullmatch(r"\d+", p.name)),
                          key=lambda p: int(p.name), reverse=True)
        candidates += [v / "bin" / name for v in versions]
    return next((str(c) for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _run(args: list[str]) -> None:
    subprocess.run(_as_owner(args), check=True, capture_output=True, timeout=120)


class Unavailable(Exception):
    """No cluster can be made here; the message says why."""


@dataclass
class Cluster:
    base: Path
    port: int
    pg_ctl: str

    @classmethod
    def start(cls) -> Cluster:
        initdb, pg_ctl = find_tool("initdb"), find_tool("pg_ctl")
        if not (initdb and pg_ctl):
            raise Unavailable("PostgreSQL is not installed (no initdb/pg_ctl on PATH, in "
                              "/usr/local/bin or /usr/lib/postgresql/*/bin); "
                              "`apt-get install postgresql` (see .ci/run)")
        if os.geteuid() == 0 and not shutil.which("runuser"):
            raise Unavailable("running as root without runuser: initdb refuses root")
        base = Path(tempfile.mkdtemp(prefix="nm-pg-"))
        cluster = cls(base, free_port(), pg_ctl)
        try:
            if os.geteuid() == 0:
                shutil.chown(base, user="postgres")
            _run([initdb, "-D", str(base / "data"), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8"])
            _run([pg_ctl, "-D", str(base / "data"), "-w", "-l", str(base / "log"), "-o",
                  f"-k {base} -p {cluster.port} -c listen_addresses='' -F "
                  "-c max_connections=200", "start"])
        except (OSError, LookupError, subprocess.SubprocessError) as exc:
            shutil.rmtree(base, ignore_errors=True)
            raise Unavailable(f"cannot start a PostgreSQL cluster: {exc}") from exc
        return cluster

    def stop(self) -> None:
        try:
            _run([self.pg_ctl, "-D", str(self.base / "data"), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def url(self, dbname: str = "postgres", *, schema: str | None = None) -> str:
        url = f"postgresql+psycopg://postgres@/{dbname}?host={self.base}&port={self.port}"
        return url + (f"&options=-csearch_path%3D{schema}" if schema else "")

    @property
    def postmaster(self) -> int:
        """The server's main process (its finished backends' CPU is counted in it)."""
        return int((self.base / "data" / "postmaster.pid").read_text().split()[0])

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(host=str(self.base), port=self.port, user="postgres",
                             dbname=dbname, autocommit=True) as conn:
            conn.execute(sql)

    def database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        name = f"d_{uuid.uuid4().hex[:12]}"
        self.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def schema(self) -> str:
        """A fresh schema in the default database (cheaper than a database); its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.execute(f"CREATE SCHEMA {name}")
        return self.url(schema=name)


def cluster_or_skip() -> Iterator[Cluster]:
    """A running cluster for a fixture, stopped afterwards; the tests skip without one."""
    import pytest

    pytest.importorskip("psycopg", reason="psycopg (the postgres extra) is not installed")
    try:
        cluster = Cluster.start()
    except Unavailable as exc:
        pytest.skip(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()
