"""A real Chromium for the tests that look at pages: pytest-playwright driving the system's
``chromium`` (Debian's package; Playwright's own browser download is not reachable here).

Tests ask for pytest-playwright's ``page`` fixture (or ``browser``); without a Chromium on
this machine they are skipped with the reason, and everything else runs. ``.ci/run``
installs the package before the test command.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_executable() -> str | None:
    """The system Chromium: ``$NEWS_MONITOR_CHROMIUM`` or the first on the PATH."""
    configured = os.environ.get("NEWS_MONITOR_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    found = chromium_executable()
    if found is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium); "
                    "the browser tests are skipped")
    return found


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any],
                             chromium_path: str) -> dict[str, Any]:
    """pytest-playwright's launch arguments, pointed at the system's Chromium."""
    return {**browser_type_launch_args, "executable_path": chromium_path,
            "args": ["--no-sandbox", "--disable-dev-shm-usage"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A phone-sized window by default: every page must be usable at 400 px."""
    return {**browser_context_args, "viewport": {"width": 400, "height": 900},
            "locale": "de-DE"}


def horizontal_overflow(page: Any) -> tuple[int, int]:
    """The page's scroll width and client width; equal when nothing scrolls sideways."""
    widths = page.evaluate("[document.documentElement.scrollWidth,"
                           " document.documentElement.clientWidth]")
    return int(widths[0]), int(widths[1])
