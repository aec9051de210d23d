"""The story pages: ``/stories`` (filters for topic, kind, outlet, dates and verdict;
paged; stories marked not relevant left out unless asked for), ``/stories/{id}`` (the
extracted text, why it matched, every revision with its word diff, the cluster, the feeds
that carried it, its events and the messages about them), and the verdict buttons'
``POST /stories/{id}/verdict``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from monitor.deltas.diff import word_diff
from monitor.match import Topic, article_document, diagnose, short_reason
from monitor.notify.render import diff_view
from monitor.store.desk import RevisionText, Story, StoryFilter
from monitor.store.verdicts import VERDICTS
from monitor.web.pages import page
from monitor.web.security import checked_form, current_user, safe_next
from monitor.web.state import desk_of, parts_of

PAGE_SIZE = 50


def _day(text: str | None, zone: str, *, end: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` from a form as the start (or the end) of that local day."""
    if not text:
        return None
    try:
        start = datetime.combine(datetime.fromisoformat(text).date(), time(),
                                 tzinfo=ZoneInfo(zone))
    except ValueError:
        raise HTTPException(400, f"kein Datum: {text[:20]}") from None
    return start + timedelta(days=1) if end else start


def story_filter(params: QueryParams, zone: str) -> StoryFilter:
    verdict = params.get("verdict") or None
    if verdict not in (None, "any", *VERDICTS):
        raise HTTPException(400, "unbekanntes Urteil")
    kind = params.get("kind") or None
    if kind not in (None, "new", "updated"):
        raise HTTPException(400, "unbekannte Art")
    return StoryFilter(topic=params.get("topic") or None, kind=kind,
                       outlet=params.get("outlet") or None,
                       since=_day(params.get("from"), zone),
                       until=_day(params.get("to"), zone, end=True), verdict=verdict)


def _page_number(params: QueryParams) -> int:
    try:
        return max(1, int(params.get("page", "1")))
    except ValueError:
        return 1


def story_list(request: Request) -> Response:
    parts, desk = parts_of(request), desk_of(request)
    chosen = story_filter(request.query_params, desk.timezone)
    number = _page_number(request.query_params)
    rows = parts.store.stories(chosen, limit=PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE)
    query = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return page(request, "stories.html.j2", rows=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE,
                number=number, query=query, chosen=chosen,
                topics=[t.name for t in parts.topics], outlets=parts.store.outlets())


def _revisions(revisions: tuple[RevisionText, ...]) -> list[dict[str, Any]]:
    """Every revision, newest first, each with its word diff against the one before."""
    shown = []
    for index, rev in enumerate(revisions):
        before = revisions[index - 1] if index else None
        diff = (diff_view(word_diff(before.title, before.text, rev.title, rev.text),
                          context=12, max_changes=200) if before else ())
        shown.append({"rev": rev, "number": index + 1, "diff": diff})
    return shown[::-1]


def story(request: Request) -> Response:
    parts = parts_of(request)
    found = parts.store.story(request.path_params["id"])
    if found is None:
        raise HTTPException(404, "Diese Meldung ist nicht (mehr) gespeichert.")
    return page(request, "story.html.j2", story=found, revisions=_revisions(found.revisions),
                verdicts=parts.store.verdicts_of(found.id),
                topics=sorted({e.topic for e in found.events}),
                misses=_misses(parts.topics, found))


def _misses(topics: Sequence[Topic], found: Story) -> dict[str, str]:
    """Per topic the story's latest text misses, why, in one line (``explain``'s words)."""
    if not found.revisions:
        return {}
    latest = found.revisions[-1]
    doc = article_document(title=latest.title, text=latest.text,
                           status=latest.extract_status)
    wanted = {m.topic for m in found.matches if not m.matched}
    return {t.name: short_reason(diagnose(t, doc)) for t in topics if t.name in wanted}


async def verdict(request: Request) -> Response:
    form = await checked_form(request)
    article_id: int = request.path_params["id"]
    topic, chosen = str(form.get("topic", "")), str(form.get("verdict", ""))
    if chosen not in VERDICTS or not topic:
        raise HTTPException(400, "Urteil oder Thema fehlt")
    parts, desk = parts_of(request), desk_of(request)
    recorded = await run_in_threadpool(parts.store.record_verdict, article_id, topic, chosen,
                                       user=current_user(request) or "?", at=desk.now())
    if recorded is None:
        raise HTTPException(404, "Diese Meldung ist nicht (mehr) gespeichert.")
    return RedirectResponse(safe_next(str(form.get("next", ""))), status_code=303)
