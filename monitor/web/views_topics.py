"""``/topics``: each topic with its query, recent matches and verdict counts; the
workbench (``POST /topics/dry-run``: a query tried on stored articles, what it adds and
drops against the current one, the TOML to paste) and the backfill button
(``POST /topics/{name}/backfill``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from monitor.errors import QueryError
from monitor.pipeline.learning import suggestions
from monitor.web.pages import page
from monitor.web.security import checked_form
from monitor.web.state import desk_of, parts_of
from monitor.web.workbench import backfill, dry_run

WINDOW = timedelta(days=30)


def _days(value: object) -> timedelta:
    try:
        return timedelta(days=min(3650, max(1, int(str(value)))))
    except ValueError:
        return WINDOW


def _overview(request: Request, **extra: Any) -> Response:
    parts, desk = parts_of(request), desk_of(request)
    activity = {a.topic: a for a in parts.store.topic_activity(desk.now() - timedelta(days=7))}
    context: dict[str, Any] = {"topics": parts.topics, "activity": activity,
               "counts": parts.store.verdict_counts(), "run": None, "error": "",
               "suggested": {t.name: suggestions(parts.store, t.name) for t in parts.topics},
               "draft_name": "", "draft_query": "", "days": 30, "message": ""}
    context.update(extra)
    return page(request, "topics.html.j2", status=200, **context)


def topics(request: Request) -> Response:
    return _overview(request)


async def try_query(request: Request) -> Response:
    form = await checked_form(request)
    parts, desk = parts_of(request), desk_of(request)
    name, query = str(form.get("name", "")).strip(), str(form.get("query", "")).strip()
    days = _days(form.get("days", "30"))
    current = next((t for t in parts.topics if t.name == name), None)
    aliases = {k: list(v) for k, v in desk.settings.aliases}
    try:
        run = await run_in_threadpool(dry_run, parts.store, name, query, current, aliases,
                                      desk.now() - days)
    except QueryError as exc:
        return await run_in_threadpool(_overview, request, error=str(exc), draft_name=name,
                                       draft_query=query, days=days.days)
    return await run_in_threadpool(_overview, request, run=run, draft_name=name,
                                   draft_query=query, days=days.days)


async def run_backfill(request: Request) -> Response:
    form = await checked_form(request)
    parts, desk = parts_of(request), desk_of(request)
    topic = next((t for t in parts.topics if t.name == request.path_params["name"]), None)
    if topic is None:
        raise HTTPException(404, "Unbekanntes Thema")
    days = _days(form.get("days", "30"))
    added = await run_in_threadpool(backfill, parts.store, topic, desk.now() - days,
                                     desk.now())
    return await run_in_threadpool(
        _overview, request, message=f"Nachträglich gefunden für „{topic.name}“: {added} "
                                    "Meldungen; sie erscheinen im nächsten Digest.")
