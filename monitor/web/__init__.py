"""The review desk: the web pages, JSON API and Atom feeds analysts use, and /metrics and
/healthz, as one ASGI application (Starlette, Jinja2 templates from this package's
``templates/``, autoescaped, never built from input) served by uvicorn inside the
daemon's own event loop (``news-monitor run`` with ``[web]``) or alone (``news-monitor
web``).

Owns the HTTP side of the desk: ``app.py`` builds the application (routes, middleware,
templates), ``server.py`` serves any ASGI app on uvicorn without touching the process's
signals, ``security.py`` the login gate, CSRF tokens, security headers and the login
rate limit, ``passwords.py`` the scrypt password hashes, ``state.py`` what handlers work
with, ``pages.py`` the template environment, one ``views_*.py`` per group of pages,
``api.py`` the JSON API and Atom feeds, ``searching.py`` the search index kept in the
matcher's words, ``workbench.py`` dry runs and backfills of topic queries. It reads the
store through the ``Store`` the wiring opened and the configuration only as
``WebSettings``.
"""
