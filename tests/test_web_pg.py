"""The desk's HTTP and API tests again on a throwaway PostgreSQL cluster (``tests/pg.py``):
verdicts, the story pages and the search (a tsvector over the same normalised words).
Skipped, with the reason, when PostgreSQL is not installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg import Cluster, cluster_or_skip
from tests.test_web_api import *  # noqa: F403
from tests.test_web_http import *  # noqa: F403


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[Cluster]:
    yield from cluster_or_skip()


@pytest.fixture
def store_url(pg_cluster: Cluster) -> str:
    return pg_cluster.schema()
