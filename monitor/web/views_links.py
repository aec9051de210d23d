"""The signed "Nicht relevant" link from mails: ``GET /v/{token}`` shows what it would
record and a button, only ``POST /v/{token}`` records it (a mail client's link prefetcher
changes nothing). No login is needed for this one action; an expired or altered link is
refused with a page that says so."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from monitor.links import LinkRefused, VerdictLink, read_verdict_link
from monitor.web.pages import page
from monitor.web.security import checked_form
from monitor.web.state import desk_of, parts_of

REFUSED = {"expired": "Dieser Link ist abgelaufen (gültig 14 Tage). Bitte auf der Seite der "
                      "Meldung bewerten.",
           "invalid": "Dieser Link ist ungültig."}


def _read(request: Request) -> VerdictLink | LinkRefused:
    desk = desk_of(request)
    return read_verdict_link(desk.settings.secret, request.path_params["token"], desk.now())


def _refused(request: Request, link: LinkRefused) -> Response:
    return page(request, "message.html.j2", status=410 if link.reason == "expired" else 400,
                heading="Link nicht gültig", message=REFUSED[link.reason])


def confirm(request: Request) -> Response:
    link = _read(request)
    if isinstance(link, LinkRefused):
        return _refused(request, link)
    found = parts_of(request).store.story(link.article_id)
    return page(request, "confirm.html.j2", link=link,
                title=found.title if found else "(nicht mehr gespeichert)")


async def record(request: Request) -> Response:
    await checked_form(request)
    link = _read(request)
    if isinstance(link, LinkRefused):
        return _refused(request, link)
    parts, desk = parts_of(request), desk_of(request)
    recorded = await run_in_threadpool(parts.store.record_verdict, link.article_id,
                                       link.topic, "not_relevant", user="mail-link",
                                       at=desk.now())
    if recorded is None:
        return page(request, "message.html.j2", status=404, heading="Nicht gefunden",
                    message="Diese Meldung ist nicht mehr gespeichert.")
    return page(request, "message.html.j2", heading="Gespeichert",
                message=f"Die Meldung ist für das Thema „{link.topic}“ als nicht relevant "
                        "markiert. Sie erscheint nicht mehr im Digest.")
