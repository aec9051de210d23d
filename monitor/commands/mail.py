"""Delivery commands: ``outbox`` (what waits, what was sent, what died, by route and channel;
requeue the dead or deliver everything waiting now), ``test-email``, ``test-notify --route``
and ``digest`` (preview, plain text, or send now). They print for a person at a terminal
and exit 1 when a message could not be delivered."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.app.settings import (
    delivery_settings,
    mail_settings,
    maildir_path,
    make_mailer,
    route_settings,
    smtp_settings,
    transport_label,
)
from monitor.app.wiring import open_app, open_store_for, utcnow
from monitor.commands import command
from monitor.commands.feeds import describe_flush
from monitor.commands.output import display_zone, show_time
from monitor.config.model import Config
from monitor.errors import DeliveryError, UsageError
from monitor.models import OutboxItem, message_id
from monitor.notify.channels import make_channel
from monitor.notify.compose import compose_test, render_digest_text
from monitor.notify.delivery import Delivery
from monitor.notify.digest import DigestResult, DigestSkipped
from monitor.notify.mailer import diagnose
from monitor.notify.outbox import FlushReport
from monitor.store import Store


def _outbox_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--route", metavar="NAME", help="only the deliveries of this route")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--retry-dead", action="store_true",
                        help="requeue every dead mail for another try")
    action.add_argument("--flush", action="store_true",
                        help="deliver every pending mail now, even those backing off")


@command("outbox", "list pending, sent and dead mail; --retry-dead requeues, --flush delivers",
         configure=_outbox_arguments)
def outbox(args: argparse.Namespace, config: Config) -> int:
    store = open_store_for(config)
    try:
        if args.retry_dead:
            print(f"requeued {store.retry_dead(at=utcnow())} dead mails")
            return 0
        if args.flush:
            return _flush(config, store)
        items = store.outbox(route=args.route)
    finally:
        store.close()
    print(_json(items) if args.json else _table(items, display_zone(args, config)))
    return 0


def _flush(config: Config, store: Store) -> int:
    delivery = Delivery(delivery_settings(config, store.installation_id()), store, utcnow)
    report = asyncio.run(delivery.flush(include_waiting=True))
    print(describe_flush(report) or "nothing to deliver")
    return 1 if report.failed or report.dead else 0


def _json(items: Sequence[OutboxItem]) -> str:
    return json.dumps([{"id": i.id, "status": i.status, "kind": i.kind, "subject": i.subject,
                        "route": i.route, "channel": i.channel,
                        "message_id": i.message_id, "recipients": list(i.recipients),
                        "attempts": i.attempts, "last_error": i.last_error,
                        "created_at": i.created_at.isoformat(),
                        "next_attempt_at": _iso(i.next_attempt_at), "sent_at": _iso(i.sent_at)}
                       for i in items], ensure_ascii=False, indent=2)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _table(items: Sequence[OutboxItem], zone: ZoneInfo) -> str:
    lines = []
    for item in items:
        due = (f" next try {show_time(item.next_attempt_at, zone, '%H:%M %Z')}"
               if item.status == "pending" and item.next_attempt_at else "")
        lines.append(f"{item.status:<8} {show_time(item.created_at, zone)} "
                     f"{item.route}/{item.channel} attempts={item.attempts}{due} "
                     f"{item.kind:<7} {item.subject or '(not yet rendered)'}")
        if item.last_error and item.status != "sent":
            lines.append(f"    last error: {item.last_error}")
    routes = sorted({(i.route, i.channel) for i in items})
    for route, channel in routes if len(routes) > 1 else ():
        mine = [i for i in items if i.route == route]
        lines.append(f"route {route} ({channel}): " + _counts(mine))
    lines.append(_counts(items))
    return "\n".join(lines)


def _counts(items: Sequence[OutboxItem]) -> str:
    counts = {s: sum(i.status == s for i in items) for s in ("pending", "sent", "dead")}
    return f"{counts['pending']} pending, {counts['sent']} sent, {counts['dead']} dead"


@command("test-email", "send a test mail through the configured transport and report")
def test_email(args: argparse.Namespace, config: Config) -> int:
    return asyncio.run(_test_email(config, config.email.to))


async def _test_email(config: Config, to: Sequence[str]) -> int:
    ok, explanation = await diagnose(smtp_settings(config), maildir_path(config))
    if not ok:
        print(f"FAILED: {explanation}")
        return 1
    now = utcnow()
    mail = compose_test(mail_settings(config, to=to), now=now,
                        transport_label=transport_label(config),
                        message_id=message_id("test", int(now.timestamp() * 1000)))
    return await _told_test(make_mailer(config).send(mail), failed="",
                            sent=f"sent to {', '.join(to)} via {transport_label(config)}",
                            by="server")


def _route_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--route", metavar="NAME", required=True,
                        help="the route's name from [[routes]] (\"default\" without routes)")


@command("test-notify", "send a test message through one route and explain any failure",
         configure=_route_arguments)
def test_notify(args: argparse.Namespace, config: Config) -> int:
    return asyncio.run(_test_notify(args.route, config))


async def _test_notify(name: str, config: Config) -> int:
    routes = {r.name: r for r in route_settings(config)}
    if name not in routes:
        raise UsageError(f"no route {name!r}; routes: {', '.join(routes)}")
    route = routes[name]
    if route.channel == "email":
        return await _test_email(config, route.mail.to)
    channel = make_channel(route, make_mailer(config))
    now = utcnow()
    message = channel.test(message_id("test", name, int(now.timestamp() * 1000)), now)
    where = f"route {name} ({route.channel}) to {channel.target()}"
    return await _told_test(channel.send(message), failed=f"{where}: ",
                            sent=f"sent a test message through {where}", by="receiver")


async def _told_test(sending: Awaitable[str], *, failed: str, sent: str, by: str) -> int:
    """Awaits a test message's delivery and says how it went (exit 1 when it failed)."""
    try:
        answer = await sending
    except DeliveryError as exc:
        print(f"FAILED: {failed}{exc}")
        return 1
    print(sent)
    print(f"{by} answered: {answer}")
    return 0


def _digest_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--preview", metavar="FILE.html", help="render to a file, send nothing")
    group.add_argument("--text", action="store_true", help="print the plain-text version")
    group.add_argument("--send", action="store_true",
                       help="build, queue and send what is new since the last digest now")
    parser.add_argument("--empty", action="store_true",
                        help="with --send: send a digest even when nothing is new")


@command("digest", "preview, print or send the digest of everything since the last one",
         configure=_digest_arguments)
def digest(args: argparse.Namespace, config: Config) -> int:
    return asyncio.run(_digest(args, config))


async def _digest(args: argparse.Namespace, config: Config) -> int:
    if args.empty and not args.send:
        raise UsageError("--empty goes with --send")
    async with open_app(config) as app:
        if args.preview or args.text:
            draft = app.render_digest(app.clock())
            if args.text:
                print(render_digest_text(draft.data))
            else:
                Path(args.preview).write_text(draft.html, encoding="utf-8")
                print(f"wrote {args.preview} ({len(draft.event_ids)} events)")
            return 0
        results = await app.make_digests(by_hand=True, empty=args.empty)
        report = await app.delivery.flush()
        labels = {r.name: app.delivery.channel(r.name).target() for r in app.digest_routes()}
    if not results:
        print("no route gets the digest ([digest] enabled = false, or no route lists "
              "\"digest\" in events)")
        return 0
    codes = [_told(route, result, report, labels, args, config, many=len(results) > 1)
             for route, result in results]
    return max(codes)


def _told(route: str, result: DigestResult | DigestSkipped, report: FlushReport,
          labels: dict[str, str], args: argparse.Namespace, config: Config, *,
          many: bool) -> int:
    """What ``digest --send`` says of one route's digest."""
    prefix = f"route {route}: " if many else ""
    if isinstance(result, DigestSkipped):
        if prefix:
            print(prefix, end="")
        return _not_sent(result, display_zone(args, config))
    print(f"{prefix}digest {result.subject!r}: {result.events} events, archived at "
          f"{result.html_path}")
    key = message_id("digest", route, result.period)
    failed = [error for error in report.errors if error.startswith(key)]
    if report.sent and not failed:
        where = transport_label(config) if route == "default" else labels.get(route, route)
        print(f"{prefix}delivered via {where}")
        return 0
    print(f"{prefix}not yet delivered ({'; '.join(failed) or 'queued'}); it stays in "
          "the outbox and is retried", file=sys.stderr)
    return 1


def _not_sent(skipped: DigestSkipped, zone: ZoneInfo) -> int:
    """Why ``digest --send`` sent nothing: 0 when nothing was new, 1 when it could not."""
    if skipped.reason == "empty":
        since = (f"the digest of {show_time(skipped.made_at, zone)}" if skipped.made_at
                 else "the last digest")
        print(f"nothing new since {since}; no digest sent (--send --empty sends one anyway)")
        return 0
    if skipped.reason == "busy":
        print("another process is still making the digest; nothing sent, try again later",
              file=sys.stderr)
    else:
        print("another process took the digest over while this one worked; nothing sent by "
              "this one", file=sys.stderr)
    return 1
