"""The JSON API and the per-topic Atom feeds for other tools.

Owns ``GET /api/stories?topic=&since=&kind=``, ``GET /api/stories/{id}`` and
``POST /api/stories/{id}/verdict`` (``{"topic": ..., "verdict": ...}``, the same effect as
the desk's buttons), authenticated with ``Authorization: Bearer <token>`` against the
tokens of ``[[web.tokens]]``; and ``GET /atom/{topic}.xml?token=...``, the topic's new and
updated stories as an Atom feed (feedgen) for feed readers, which cannot send headers.
Links from feeds are passed on only when they are http(s).
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.links import story_link
from monitor.notify.render import safe_link
from monitor.store.desk import StoryFilter, StoryRow
from monitor.store.verdicts import VERDICTS
from monitor.web.state import desk_of, parts_of

_AGO = re.compile(r"^(\d{1,6})([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def token_name(request: Request, token: str | None) -> str:
    """The name of the configured token ``token``; 401 when it is none of them."""
    for name, expected in desk_of(request).settings.tokens:
        if token and hmac.compare_digest(token.encode(), expected.encode()):
            return name
    raise HTTPException(401, "token required", headers={"WWW-Authenticate": "Bearer"})


def bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token_name(request, token.strip() if scheme.lower() == "bearer" else None)


def _since(text: str | None, now: datetime) -> datetime | None:
    if not text:
        return None
    ago = _AGO.match(text)
    if ago:
        return now - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(400, "since: expected an ISO date or time, or e.g. 24h, 7d") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)


def _row(row: StoryRow) -> dict[str, Any]:
    return {"id": row.article_id, "event_id": row.event_id, "topic": row.topic,
            "kind": row.kind, "title": row.title, "source": row.source,
            "url": safe_link(row.url), "detected_at": row.detected_at.isoformat(),
            "backfill": row.backfill}


def stories(request: Request) -> Response:
    bearer(request)
    params, desk = request.query_params, desk_of(request)
    kind = params.get("kind") or None
    if kind not in (None, "new", "updated"):
        raise HTTPException(400, "kind: new or updated")
    rows = parts_of(request).store.stories(StoryFilter(
        topic=params.get("topic") or None, kind=kind,
        since=_since(params.get("since"), desk.now())), limit=500)
    return JSONResponse({"stories": [_row(r) for r in rows]})


def story(request: Request) -> Response:
    bearer(request)
    store = parts_of(request).store
    found = store.story(request.path_params["id"])
    if found is None:
        raise HTTPException(404, "no such story")
    return JSONResponse({
        "id": found.id, "title": found.title, "url": safe_link(found.url),
        "source": found.source, "first_seen": found.first_seen.isoformat(),
        "revisions": [{"id": r.id, "title": r.title, "fetched_at": r.fetched_at.isoformat(),
                       "extract_status": r.extract_status} for r in found.revisions],
        "matches": [{"topic": m.topic, "matched": m.matched, "score": m.score}
                    for m in found.matches],
        "events": [{"id": e.id, "topic": e.topic, "kind": e.kind,
                    "detected_at": e.detected_at.isoformat()} for e in found.events],
        "verdicts": [{"topic": v.topic, "verdict": v.verdict, "user": v.user,
                      "at": v.at.isoformat()} for v in store.verdicts_of(found.id)]})


async def verdict(request: Request) -> Response:
    name = bearer(request)
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(400, "expected a JSON object") from None
    topic = body.get("topic") if isinstance(body, dict) else None
    chosen = body.get("verdict") if isinstance(body, dict) else None
    if not isinstance(topic, str) or not topic or chosen not in VERDICTS:
        raise HTTPException(400, f"expected topic and verdict (one of {', '.join(VERDICTS)})")
    store, desk = parts_of(request).store, desk_of(request)
    new = await run_in_threadpool(store.record_verdict, request.path_params["id"], topic,
                                  chosen, user=f"api:{name}", at=desk.now())
    if new is None:
        raise HTTPException(404, "no such story")
    return JSONResponse({"recorded": new, "topic": topic, "verdict": chosen})


def atom(request: Request) -> Response:
    token_name(request, request.query_params.get("token"))
    desk, parts = desk_of(request), parts_of(request)
    topic = request.path_params["topic"]
    if topic not in {t.name for t in parts.topics}:
        raise HTTPException(404, "no such topic")
    rows = parts.store.stories(StoryFilter(topic=topic), limit=50)
    base = desk.settings.base_url
    from feedgen.feed import FeedGenerator  # here: feedgen loads lxml, which only this needs

    feed = FeedGenerator()
    feed.id(f"{base}/atom/{quote(topic)}")
    feed.title(f"news-monitor: {topic}")
    feed.link(href=f"{base}/stories?topic={quote(topic)}", rel="alternate")
    feed.updated(rows[0].detected_at if rows else desk.now())
    for row in reversed(rows):
        entry = feed.add_entry()
        entry.id(f"{base}/stories/{row.article_id}#event-{row.event_id}")
        entry.title(("Aktualisiert: " if row.kind == "updated" else "") + row.title)
        entry.link(href=story_link(base, row.article_id), rel="alternate")
        entry.updated(row.detected_at)
        entry.author(name=row.source or "news-monitor")
        if safe_link(row.url):
            entry.link(href=row.url, rel="related")
    return Response(feed.atom_str(pretty=True), media_type="application/atom+xml")
