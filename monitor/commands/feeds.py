"""Commands about feeds: ``check-config``, ``poll`` (one cycle now) and ``feeds`` (their health).

They print for a person at a terminal: one line per feed, a summary line, and errors
explained in words. ``poll`` exits 0 even when feeds fail (their errors are in the output).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from datetime import datetime

from monitor.app.settings import compile_topics
from monitor.app.wiring import open_app, open_store_for
from monitor.commands import command
from monitor.config.model import Config
from monitor.notify.outbox import FlushReport
from monitor.pipeline.feed import FeedOutcome


def _fmt_time(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else "-"


@command("check-config", "validate the configuration and print a summary")
def check_config(args: argparse.Namespace, config: Config) -> int:
    topics = compile_topics(config)
    smtp = config.email.smtp
    transport = (f"SMTP {smtp.host}:{smtp.port} ({smtp.security})" if smtp
                 else f"Maildir {config.state_dir / 'mail'}")
    print(f"config:  {config.source}: ok")
    print(f"feeds:   {len(config.enabled_feeds)} enabled of {len(config.feeds)}")
    print(f"topics:  {', '.join(t.name for t in topics) or '(none)'}")
    print(f"storage: {config.storage.url}")
    print(f"mail:    {transport} -> {', '.join(config.email.to)}")
    print(f"digest:  {config.digest.time:%H:%M} {config.digest.timezone}"
          f"{'' if config.digest.enabled else ' (disabled)'}")
    return 0


def _poll_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--feed", action="append", metavar="NAME",
                        help="poll only this feed (repeatable)")


@command("poll", "poll every enabled feed now, in the foreground, and deliver",
         configure=_poll_arguments)
def poll(args: argparse.Namespace, config: Config) -> int:
    unknown = [n for n in args.feed or () if n not in {f.name for f in config.feeds}]
    if unknown:
        print(f"error: unknown feed: {', '.join(unknown)}")
        return 2
    started = time.perf_counter()
    outcomes, delivered = asyncio.run(_poll(config, args.feed))
    for outcome in outcomes:
        print(_outcome_line(outcome))
        for article in outcome.articles:
            if article.matched:
                print(f"    match {', '.join(article.matched)}: {article.title} <{article.url}>")
    print(_summary(outcomes, time.perf_counter() - started))
    if delivered:
        print(delivered)
    return 0


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


@command("feeds", "show each feed's health: last status, last success, next poll, errors")
def feeds(args: argparse.Namespace, config: Config) -> int:
    store = open_store_for(config)
    try:
        states = {s.name: s for s in store.feed_states()}
    finally:
        store.close()
    print(f"{'feed':<34} {'status':<13} {'last success':<17} {'next poll':<17} "
          f"{'errors':>6} {'entries':>7}")
    for feed in config.feeds:
        state = states.get(feed.name)
        status = (state.last_status or "never polled") if state else "never polled"
        if not feed.enabled:
            status = "disabled"
        print(f"{feed.name[:34]:<34} {status[:13]:<13} "
              f"{_fmt_time(state.last_success_at if state else None):<17} "
              f"{_fmt_time(state.next_poll_at if state else None):<17} "
              f"{state.consecutive_errors if state else 0:>6} "
              f"{state.entries_count if state else 0:>7}")
        if state and state.last_error and state.consecutive_errors:
            print(f"    last error: {state.last_error}")
    return 0
