"""Store fixtures for every test (registered in tests/conftest.py as a plugin).

``store_url`` is a fresh SQLite file under tmp_path; test_store_pg.py overrides it with a
throwaway PostgreSQL database and re-runs the store tests there. ``opener`` opens stores
on it (closed at the end of the test), ``store`` is one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.store import Store, open_store


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/data/monitor.db"


@pytest.fixture
def opener(store_url: str) -> Iterator[Callable[..., Store]]:
    opened: list[Store] = []

    def open_(**kw: object) -> Store:
        opened.append(open_store(store_url, **kw))  # type: ignore[arg-type]
        return opened[-1]

    yield open_
    for s in opened:
        s.close()


@pytest.fixture
def store(opener: Callable[..., Store]) -> Store:
    return opener(owner="test-host:1")
