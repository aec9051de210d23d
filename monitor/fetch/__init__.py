"""The fetch stage: HTTP with conditional GET, limits, politeness and the address guard.

``client`` owns the shared httpx client and ``Fetcher.fetch`` (bytes plus cache validators;
a 304 is a normal result), ``limits`` the decompressed size cap, per-host politeness and
Retry-After, ``netguard`` the check of every resolved address, ``robots`` the robots.txt
cache for article pages. It imports only ``monitor.models``/``monitor.errors``.
"""
