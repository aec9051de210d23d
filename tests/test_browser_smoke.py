"""The browser the page tests use: the system Chromium, launched by pytest-playwright."""

from __future__ import annotations

from typing import Any

from tests.browser import horizontal_overflow


def test_a_narrow_page_does_not_scroll_sideways_and_a_wide_one_does(page: Any) -> None:
    page.set_content("<!doctype html><meta name=viewport content='width=device-width'>"
                     "<p>Schmal genug.</p>")
    scroll, client = horizontal_overflow(page)
    assert scroll == client == 400
    page.set_content("<!doctype html><meta name=viewport content='width=device-width'>"
                     "<p style='width:900px'>Zu breit.</p>")
    scroll, client = horizontal_overflow(page)
    assert scroll > client
