"""A real Chromium for the tests that look at pages: pytest-playwright driving the system's
``chromium`` (Debian's package; Playwright's own browser download is not reachable here).

Tests ask for pytest-playwright's ``page`` fixture (or ``browser``); without a Chromium on
this machine they are skipped with the reason, and everything else runs. ``.ci/run``
installs the package before the test command.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserType, Playwright, sync_playwright

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
def browser_context_args() -> dict[str, Any]:
    """A phone-sized window by default: every page must be usable at 400 px. (Our own, not
    pytest-playwright's, which needs its session-long Playwright for ``--device``.)"""
    return {"viewport": {"width": 400, "height": 900}, "locale": "de-DE"}


# pytest-playwright keeps one Playwright for the session; while it runs, its event loop
# counts as running in the main thread, so every later test that calls asyncio.run() in
# the same process fails. Here it lives for one test module at a time instead.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="module")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    found: BrowserType = getattr(playwright, browser_name or "chromium")
    return found


@pytest.fixture(scope="module")
def launch_browser(browser_type_launch_args: dict[str, Any],
                   browser_type: BrowserType) -> Callable[..., Browser]:
    def launch(**kwargs: Any) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})
    return launch


@pytest.fixture(scope="module")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    launched = launch_browser()
    yield launched
    launched.close()


def horizontal_overflow(page: Any) -> tuple[int, int]:
    """The page's scroll width and client width; equal when nothing scrolls sideways."""
    widths = page.evaluate("[document.documentElement.scrollWidth,"
                           " document.documentElement.clientWidth]")
    return int(widths[0]), int(widths[1])
