"""A real Chromium for the tests that look at pages: Playwright (with pytest-playwright's
plugin installed) driving the system's ``chromium`` (Debian's package; Playwright's own
browser download is not reachable here).

Tests ask for ``page`` (a fresh page in a fresh context, 400 px wide, German locale) or
``browser``. Without a Chromium on this machine they are skipped with the reason, and
everything else runs; ``.ci/run`` installs the package before the test command.

Playwright's synchronous API keeps an event loop running in the thread while it is started.
pytest-playwright starts it once per session, after which no later test in that worker
could call ``asyncio.run``; here it is started per test module and stopped when the module's
tests are done, so the rest of the suite runs as before.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
VIEWPORT = {"width": 400, "height": 900}


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


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    """The system Chromium, launched for this test module and closed after it."""
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    try:
        launched = driver.chromium.launch(executable_path=chromium_path,
                                          args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield launched
        finally:
            launched.close()
    finally:
        driver.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page in its own context: 400 px wide (every page must be usable at that
    width), German locale."""
    context = browser.new_context(viewport=VIEWPORT, locale="de-DE")
    try:
        yield context.new_page()
    finally:
        context.close()


def horizontal_overflow(page: Any) -> tuple[int, int]:
    """The page's scroll width and client width; equal when nothing scrolls sideways."""
    widths = page.evaluate("[document.documentElement.scrollWidth,"
                           " document.documentElement.clientWidth]")
    return int(widths[0]), int(widths[1])
