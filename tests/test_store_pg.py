"""The same store tests against a throwaway PostgreSQL cluster (``tests/pg.py``).

Skipped, with the reason, when PostgreSQL is not installed (``.ci/run`` installs it) or a
cluster cannot be started. Each test gets a fresh schema. SQLite-only tests (pragmas,
damaged files) are not re-run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg import Cluster, cluster_or_skip
from tests.test_store_articles import *  # noqa: F403
from tests.test_store_batched import *  # noqa: F403
from tests.test_store_clusters import *  # noqa: F403
from tests.test_store_feeds import *  # noqa: F403
from tests.test_store_jobs import *  # noqa: F403
from tests.test_store_outbox import *  # noqa: F403


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[Cluster]:
    yield from cluster_or_skip()


@pytest.fixture
def store_url(pg_cluster: Cluster) -> str:
    """A fresh schema per test (cheaper than CREATE DATABASE), first on the search_path."""
    return pg_cluster.schema()
