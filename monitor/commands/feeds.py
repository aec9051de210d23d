"""Commands about feeds: ``poll`` (one cycle now) and ``feeds`` (their health; ``feeds import``
and ``feeds export`` move them to and from OPML, see ``opml``).

They print for a person at a terminal: one line per feed, a summary line, and errors
explained in words; when every feed failed with one network cause (no DNS, no route), one
line says so and what to check. ``poll`` exits 0 even when feeds fail (their errors are in
the output). Times carry their zone (``output``).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.app.wiring import open_app, open_store_for
from monitor.commands import command, opml
from monitor.commands.output import check_feeds, display_zone, show_time
from monitor.config.model import Config
from monitor.fetch.causes import NETWORK_HINTS, shared_network_cause
from monitor.models import FeedState
from monitor.notify.outbox import FlushReport
from monitor.pipeline.feed import FeedOutcome


def _poll_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--feed", action="append", metavar="NAME",
                        help="poll only this feed (repeatable)")


@command("poll", "poll every enabled feed now, in the foreground, and deliver",
         configure=_poll_arguments)
def poll(args: argparse.Namespace, config: Config) -> int:
    check_feeds(config, args.feed, enabled=True)
    started = time.perf_counter()
    outcomes, delivered = asyncio.run(_poll(config, args.feed))
    _print_outcomes(outcomes)
    print(_summary(outcomes, time.perf_counter() - started))
    if delivered:
        print(delivered)
    return 0


def _print_outcomes(outcomes: Sequence[FeedOutcome]) -> None:
    """A line per feed and its matches; one line in all when every feed failed alike."""
    cause = shared_network_cause([(o.error_kind, o.error) for o in outcomes
                                  if o.status == "error"], len(outcomes))
    if cause is not None:
        print(f"{'FAILED':<13} every one of the {len(outcomes)} feeds: {NETWORK_HINTS[cause]}")
        return
    for outcome in outcomes:
        print(_outcome_line(outcome))
        for article in outcome.articles:
            if article.matched:
                print(f"    match {', '.join(article.matched)}: {article.title} <{article.url}>")


async def _poll(config: Config, names: Sequence[str] | None) -> tuple[list[FeedOutcome], str]:
    async with open_app(config) as app:
        outcomes = await app.pipeline.run_cycle(due_only=False, names=names)
        report = await app.delivery.flush(include_waiting=True)
    return outcomes, describe_flush(report)


def describe_flush(report: FlushReport) -> str:
    """One line on what delivery did, with the reasons mail could not be delivered."""
    if not (report.sent or report.failed or report.dead):
        return ""
    line = f"mail: {report.sent} delivered, {report.failed} to retry, {report.dead} dead"
    return line + "".join(f"\n    {error}" for error in report.errors)


def _outcome_line(outcome: FeedOutcome) -> str:
    status = {"ok": "ok", "not_modified": "not modified", "error": "FAILED"}[outcome.status]
    detail = (f"error: {outcome.error}" if outcome.error else
              f"new={outcome.new_entries} matches={outcome.matches} deltas={outcome.deltas}")
    return f"{status:<13} {outcome.feed:<34} {detail}  ({outcome.took_ms:.0f} ms)"


def _summary(outcomes: Sequence[FeedOutcome], seconds: float) -> str:
    count = {s: sum(o.status == s for o in outcomes) for s in ("ok", "not_modified", "error")}
    new = sum(o.new_entries for o in outcomes)
    matches = sum(o.matches for o in outcomes)
    deltas = sum(o.deltas for o in outcomes)
    return (f"{len(outcomes)} feeds: {count['ok']} ok, {count['not_modified']} not modified, "
            f"{count['error']} failed; {new} new entries, {matches} matches, {deltas} deltas "
            f"in {seconds:.1f} s")


def _feeds_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "%(prog)s [-h] [import FILE.opml | export [FILE.opml]]"
    actions = parser.add_subparsers(dest="action", metavar="ACTION", prog=parser.prog,
                                    description="without an ACTION: the health table")
    found = actions.add_parser(
        "import", help="print [[feeds]] TOML for the feeds of an OPML file not configured yet",
        description="Print [[feeds]] TOML for the feeds of an OPML file (a feed reader's "
                    "export) that are not configured yet; paste it into the config.")
    found.add_argument("file", metavar="FILE.opml", type=Path,
                       help="the OPML file to read (- reads standard input)")
    written = actions.add_parser(
        "export", help="write the configured feeds as OPML",
        description="Write the configured feeds as OPML, for a feed reader or another "
                    "news-monitor.")
    written.add_argument("file", metavar="FILE.opml", type=Path, nargs="?",
                         help="where to write it (default: standard output)")


@command("feeds", "show each feed's health (last status, last success, next poll, errors); "
         "import or export feeds as OPML", configure=_feeds_arguments)
def feeds(args: argparse.Namespace, config: Config) -> int:
    if getattr(args, "action", None) == "import":
        return opml.import_feeds(args.file, config)
    if getattr(args, "action", None) == "export":
        return opml.export_feeds(args.file, config)
    store = open_store_for(config)
    try:
        states = {s.name: s for s in store.feed_states()}
    finally:
        store.close()
    _health_table(config, states, display_zone(args, config))
    return 0


def _health_table(config: Config, states: dict[str, FeedState], zone: ZoneInfo) -> None:
    print(f"{'feed':<34} {'status':<13} {'last success':<21} {'next poll':<21} "
          f"{'errors':>6} {'entries':>7}")
    for feed in config.feeds:
        state = states.get(feed.name)
        status = (state.last_status or "never polled") if state else "never polled"
        if not feed.enabled:
            status = "disabled"
        print(f"{feed.name[:34]:<34} {status[:13]:<13} "
              f"{show_time(state.last_success_at if state else None, zone):<21} "
              f"{show_time(state.next_poll_at if state else None, zone):<21} "
              f"{state.consecutive_errors if state else 0:>6} "
              f"{state.entries_count if state else 0:>7}")
        if state and state.last_error and state.consecutive_errors:
            print(f"    last error: {state.last_error}")
