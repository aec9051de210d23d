"""``/feeds``: every feed's health (last status and error, next poll, entries) and the
pause and resume buttons."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from monitor.store.desk import PAUSED_UNTIL
from monitor.web.pages import page
from monitor.web.security import checked_form
from monitor.web.state import desk_of, parts_of


def feeds(request: Request) -> Response:
    states = parts_of(request).store.feed_states()
    return page(request, "feeds.html.j2", feeds=states, paused_until=PAUSED_UNTIL)


async def pause(request: Request) -> Response:
    form = await checked_form(request)
    paused = form.get("action") == "pause"
    name = request.path_params["name"]
    done = await run_in_threadpool(parts_of(request).store.set_feed_paused, name, paused,
                                   desk_of(request).now())
    if not done:
        raise HTTPException(404, "Unbekannter Feed")
    return RedirectResponse("/feeds", status_code=303)
