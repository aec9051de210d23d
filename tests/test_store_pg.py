"""The same store tests against a throwaway PostgreSQL cluster, when one can be started.

Skipped cleanly when initdb/pg_ctl are not installed (or cannot run). The cluster lives in
a temporary directory, listens only on a unix socket there, and is stopped afterwards;
each test gets a fresh schema. SQLite-only tests (pragmas, damaged files) are not re-run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_store_articles import *  # noqa: F403
from tests.test_store_clusters import *  # noqa: F403
from tests.test_store_feeds import *  # noqa: F403
from tests.test_store_outbox import *  # noqa: F403

psycopg = pytest.importorskip("psycopg")


def _tool(name: str) -> str | None:
    return shutil.which(name) or (f"/usr/local/bin/{name}"
                                  if Path(f"/usr/local/bin/{name}").exists() else None)


def _run(args: list[str]) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(prefix + args, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pg_socket_dir() -> Iterator[str]:
    initdb, pg_ctl = _tool("initdb"), _tool("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL (initdb/pg_ctl) not installed")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        pytest.skip("running as root without runuser: initdb refuses root")
    base = tempfile.mkdtemp(prefix="nm-pg-")
    if os.geteuid() == 0:
        shutil.chown(base, user="postgres")
    data = f"{base}/data"
    try:
        _run([initdb, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
        _run([pg_ctl, "-D", data, "-w", "-l", f"{base}/log", "-o",
              f"-k {base} -c listen_addresses='' -F", "start"])
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"cannot start a PostgreSQL cluster: {exc}")
    yield base
    _run([pg_ctl, "-D", data, "-m", "immediate", "stop"])
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def store_url(pg_socket_dir: str) -> str:
    """A fresh schema per test (cheaper than CREATE DATABASE), first on the search_path."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=pg_socket_dir, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return (f"postgresql+psycopg://postgres@/postgres?host={pg_socket_dir}"
            f"&options=-csearch_path%3D{name}")
