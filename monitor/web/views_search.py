"""``/search?q=``: full text over stored articles in the matcher's words, with the found
words marked in a snippet, and the filters topic and date range."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from monitor.web.pages import page
from monitor.web.searching import query_forms, refresh, snippet
from monitor.web.state import desk_of, parts_of
from monitor.web.views_stories import PAGE_SIZE, _page_number, story_filter


async def search(request: Request) -> Response:
    parts, desk = parts_of(request), desk_of(request)
    q = request.query_params.get("q", "").strip()[:300]
    chosen = story_filter(request.query_params, desk.timezone)
    number = _page_number(request.query_params)
    results = []
    if q:
        await run_in_threadpool(refresh, parts.store, desk.normaliser)
        words = query_forms(desk.normaliser, q)
        found = await run_in_threadpool(parts.store.search, words, topic=chosen.topic,
                                        since=chosen.since, until=chosen.until,
                                        limit=PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE)
        results = [(f, snippet(desk.normaliser, f.text or f.title, words)) for f in found]
    query = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return page(request, "search.html.j2", q=q, results=results[:PAGE_SIZE],
                more=len(results) > PAGE_SIZE, number=number, query=query, chosen=chosen,
                topics=[t.name for t in parts.topics])
