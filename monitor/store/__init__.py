"""Storage of news-monitor: one interface, SQLite by default, PostgreSQL by URL.

Re-exports ``open_store``/``Store`` and the store's records; the modules below own one
concern each (feeds, entries, articles, events, alerts, outbox, digests, retention, leases
and jobs), ``dialect`` is the only place that knows SQLite from PostgreSQL, ``migrations``
the numbered schema steps applied at open.
"""

from __future__ import annotations

from monitor.store.facade import Store, open_store
from monitor.store.records import (
    ArticleOutcome,
    ArticleRef,
    ClusterQuery,
    DeadLetter,
    DigestRow,
    EntryChanges,
    JobClaim,
    NewEvent,
    RecheckItem,
    RoutePolicy,
    SavedOutcome,
    StoredText,
)

__all__ = [
    "ArticleOutcome", "ArticleRef", "ClusterQuery", "DeadLetter", "DigestRow",
    "EntryChanges", "JobClaim", "NewEvent", "RecheckItem", "RoutePolicy", "SavedOutcome", "Store",
    "StoredText", "open_store",
]
