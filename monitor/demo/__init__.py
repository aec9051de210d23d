"""An offline demonstration for a new user: ``news-monitor demo``.

Owns a small invented German news site (two outlets, their feeds and article pages, in
``data/``), a local HTTP server for it, a local SMTP server that files every message into a
Maildir, and the scenario that runs the real pipeline against both: first poll, alerts,
an article edited by its publisher, an ``updated`` alert in the same thread, and a digest.
Nothing leaves 127.0.0.1 and nothing keeps running afterwards.
"""

from __future__ import annotations
