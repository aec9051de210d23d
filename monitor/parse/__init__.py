"""The parse stage: a fetched feed's bytes become plain ``FeedEntry`` records.

``feed`` owns feedparser on our bytes and entry identity, ``dates`` the German date forms
publishers write. Canonical URLs come from ``monitor.urls``. No I/O beyond the bytes given.
"""
