"""The digest pages: ``/`` the digest as the next mails would carry it (what is new since
the last digest sent, of every route that gets one, each story once), ``/digest/YYYY-MM-DD``
the digests made that day; grouped by topic like the mail, with the feedback buttons on
every story and the stories a backfill found under their own heading. Stories marked not
relevant leave both."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from monitor.models import Delta
from monitor.notify.digest import preview_digests
from monitor.notify.render import DeltaView, delta_view
from monitor.web.pages import page
from monitor.web.state import DeskParts, desk_of, parts_of


@dataclass(frozen=True, slots=True)
class StoryCard:
    view: DeltaView
    article_id: int | None


@dataclass(frozen=True, slots=True)
class TopicSection:
    topic: str
    new: tuple[StoryCard, ...]
    updated: tuple[StoryCard, ...]
    backfill: tuple[StoryCard, ...]
    held: tuple[StoryCard, ...] = ()      # "Wahrscheinlich nicht relevant": held by verdicts
    margin: tuple[StoryCard, ...] = ()    # "Am Rande erwähnt": the query held, the score not

    @property
    def empty(self) -> bool:
        return not (self.new or self.updated or self.backfill or self.held or self.margin)


def sections(parts: DeskParts, deltas: Sequence[Delta], backfill: set[int]) -> list[TopicSection]:
    """The deltas by topic in configured order, new (best first), updated, backfill."""
    articles = parts.store.event_articles([d.id for d in deltas])
    zone = parts.digest.timezone

    def cards(chosen: Sequence[Delta]) -> tuple[StoryCard, ...]:
        return tuple(StoryCard(delta_view(d, tz=zone), articles.get(d.id)) for d in chosen)

    names = [t.name for t in parts.topics]
    names += sorted({d.topic for d in deltas} - set(names))
    found = []
    for name in names:
        mine = [d for d in deltas if d.topic == name]
        plain = [d for d in mine if d.id not in backfill and not d.held]
        found.append(TopicSection(
            name,
            cards(sorted((d for d in plain if d.kind == "new"), key=lambda d: -d.score)),
            cards([d for d in plain if d.kind == "updated"]),
            cards([d for d in mine if d.id in backfill]),
            cards([d for d in mine if d.held and d.id not in backfill]),
            cards([d for d in plain if d.kind == "margin"])))
    return found


def today(request: Request) -> Response:
    parts, desk = parts_of(request), desk_of(request)
    data = preview_digests(parts.store, parts.digests, desk.now())
    deltas = [d for t in data.topics for d in (*t.new, *t.updated, *t.held, *t.margin)]
    return page(request, "digest.html.j2", heading="Nächster Digest",
                lead="Was seit dem letzten versandten Digest neu ist.",
                sections=sections(parts, deltas, parts.store.backfill_events()),
                days=parts.store.digest_days(), data=data)


def day(request: Request) -> Response:
    text = request.path_params["day"]
    try:
        date.fromisoformat(text)
    except ValueError:
        raise HTTPException(404, "Kein gültiges Datum") from None
    parts = parts_of(request)
    deltas = parts.store.digest_events(text)
    backfill = parts.store.backfill_events(text)
    return page(request, "digest.html.j2", heading=f"Digest vom {text}",
                lead="" if deltas else "An diesem Tag wurde kein Digest mit Meldungen erstellt.",
                sections=sections(parts, deltas, backfill), days=parts.store.digest_days(),
                data=None)
