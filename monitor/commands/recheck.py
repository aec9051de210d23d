"""``news-monitor recheck (--story ID | --url URL | --all-recent)``: fetch stories again now.

Without it an edit is noticed at the next scheduled re-check (the first an hour after a
story was found). The stories are the stored articles named by a story id as ``deltas``
shows it (``#12``), by URL, or all still on the re-check schedule; each is claimed under
the re-check lease, renewed until all are done (a daemon never re-checks one meanwhile), and
re-checked by the pipeline's own re-check, through the wiring's
``App`` (a conditional GET, extraction, matching, an ``updated`` event and its alert on a
material change), counting as the story's next scheduled re-check. Then mail waiting in
the outbox is delivered, as after ``poll``. A story that is not stored is a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from monitor.app.wiring import open_app
from monitor.commands import command
from monitor.commands.feeds import describe_flush
from monitor.config.model import Config
from monitor.errors import UsageError
from monitor.pipeline.articles import EntryResult

LABELS = {"not_modified": "not modified", "failed": "FAILED"}


def _arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--story", type=int, metavar="ID",
                       help="the story with this id, as `deltas` shows it (#ID)")
    which.add_argument("--url", metavar="URL", help="the story at this URL")
    which.add_argument("--all-recent", action="store_true",
                       help="every story still on the re-check schedule (matched within the "
                            "last [alerts] recheck offset)")


@command("recheck", "fetch stories again now to notice edits (--story ID, --url URL or "
         "--all-recent)", configure=_arguments)
def recheck(args: argparse.Namespace, config: Config) -> int:
    results, busy, delivered = asyncio.run(_recheck(args, config))
    for result in results:
        print(_line(result))
    print(_summary(results, busy))
    if delivered:
        print(delivered)
    return 0


async def _recheck(args: argparse.Namespace,
                   config: Config) -> tuple[list[EntryResult], int, str]:
    async with open_app(config) as app:
        ids = app.store.story_ids(story=args.story, url=args.url, all_recent=args.all_recent)
        if not ids and not args.all_recent:
            raise UsageError(_not_stored(args))
        items = app.store.claim_rechecks(ids, now=app.clock())
        with app.keeper.holding("articles", [item.article_id for item in items]):
            results = [await app.pipeline.articles.recheck(item) for item in items]
        report = await app.delivery.flush(include_waiting=True)
    return results, len(ids) - len(items), describe_flush(report)


def _not_stored(args: argparse.Namespace) -> str:
    if args.story is not None:
        return (f"no story #{args.story}: `news-monitor deltas --since 30d` lists the stories "
                "with their ids")
    return f"no stored story has the URL {args.url}"


def _line(result: EntryResult) -> str:
    if result.deltas:
        label = "updated"
    elif result.status in LABELS:
        label = LABELS[result.status]
    else:
        label = "unchanged"
    line = f"{label:<13} {result.title} <{result.url}>"
    if result.deltas:
        line += f"\n    {result.deltas} new event(s) for {', '.join(result.matched)}"
    if result.status == "failed":
        line += "\n    the page could not be fetched; --log-level INFO shows why"
    return line


def _summary(results: Sequence[EntryResult], busy: int) -> str:
    updated = sum(1 for r in results if r.deltas)
    failed = sum(1 for r in results if r.status == "failed")
    same = sum(1 for r in results if r.status == "not_modified")
    text = (f"{len(results)} {'story' if len(results) == 1 else 'stories'} re-checked: "
            f"{updated} updated, {same} not modified, {failed} failed, "
            f"{len(results) - updated - same - failed} unchanged")
    if busy:
        text += f"; {busy} being re-checked by the service right now (try again in a minute)"
    return text
