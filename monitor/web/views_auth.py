"""Logging in and out: ``/login`` (form and check, rate-limited per address) and
``/logout``; ``/healthz`` for monitoring (``/metrics`` is prometheus_client's own app)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from monitor.web.pages import page
from monitor.web.passwords import check_password
from monitor.web.security import checked_form, safe_next
from monitor.web.state import desk_of

# checked when the name is unknown, so both cases take the same time
_DUMMY = ("$scrypt$n=16384,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")


def login_form(request: Request) -> Response:
    return page(request, "login.html.j2", next=safe_next(request.query_params.get("next")),
                error="")


async def login(request: Request) -> Response:
    form = await checked_form(request)
    desk = desk_of(request)
    address = request.client.host if request.client else "?"
    target = safe_next(str(form.get("next", "")))
    if not desk.limiter.allowed(address):
        return page(request, "login.html.j2", status=429, next=target,
                    error="Zu viele Fehlversuche. Bitte in einigen Minuten erneut versuchen.")
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    hashed = dict(desk.settings.users).get(name)
    ok = await run_in_threadpool(check_password, password, hashed or _DUMMY)
    if not (ok and hashed):
        desk.limiter.failed(address)
        return page(request, "login.html.j2", status=401, next=target,
                    error="Name oder Passwort falsch.")
    desk.limiter.succeeded(address)
    request.session.clear()
    request.session["user"] = name
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def healthz(request: Request) -> Response:
    try:
        ok, detail = request.app.state.health()
    except Exception as exc:
        return PlainTextResponse(f"unhealthy: health check raised {type(exc).__name__}\n", 503)
    if ok:
        return PlainTextResponse(f"ok {detail}".rstrip() + "\n")
    return PlainTextResponse(f"unhealthy: {detail}\n", 503)

