"""Fixtures of the hostile-input suites: a misbehaving raw-socket server and the figures sink.

The top-level ``tests/conftest.py`` provides ``site`` (the well-behaved local news site),
``smtp`` and the config writer; these add what only the hostile suites need.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile.helpers import Figures, RawServer


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    server = RawServer().start()
    yield server
    server.stop()


@pytest.fixture
def figures() -> Figures:
    return Figures()
