"""Mail commands: ``outbox`` (what waits, what was sent, what died; requeue the dead or
deliver everything waiting now), ``test-email`` and ``digest`` (preview, plain text, or send
now). They print for a person at a terminal and exit 1 when mail could not be delivered."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.app.settings import (
    delivery_settings,
    mail_settings,
    maildir_path,
    make_mailer,
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
from monitor.notify.compose import compose_test, render_digest_text
from monitor.notify.delivery import Delivery
from monitor.notify.digest import DigestSkipped
from monitor.notify.mailer import diagnose
from monitor.store import Store


def _outbox_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")
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
        items = store.outbox()
    finally:
        store.close()
    print(_json(items) if args.json else _table(items, display_zone(args, config)))
    return 0


def _flush(config: Config, store: Store) -> int:
    delivery = Delivery(delivery_settings(config), store, utcnow)
    report = asyncio.run(delivery.flush(include_waiting=True))
    print(describe_flush(report) or "nothing to deliver")
    return 1 if report.failed or report.dead else 0


def _json(items: Sequence[OutboxItem]) -> str:
    return json.dumps([{"id": i.id, "status": i.status, "kind": i.kind, "subject": i.subject,
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
                     f"attempts={item.attempts}{due} {item.kind:<7} {item.subject}")
        if item.last_error and item.status != "sent":
            lines.append(f"    last error: {item.last_error}")
    counts = {s: sum(i.status == s for i in items) for s in ("pending", "sent", "dead")}
    lines.append(f"{counts['pending']} pending, {counts['sent']} sent, {counts['dead']} dead")
    return "\n".join(lines)


@command("test-email", "send a test mail through the configured transport and report")
def test_email(args: argparse.Namespace, config: Config) -> int:
    ok, explanation = asyncio.run(diagnose(smtp_settings(config), maildir_path(config)))
    if not ok:
        print(f"FAILED: {explanation}")
        return 1
    now = utcnow()
    mail = compose_test(mail_settings(config), now=now, transport_label=transport_label(config),
                        message_id=message_id("test", int(now.timestamp() * 1000)))
    try:
        answer = asyncio.run(make_mailer(config).send(mail))
    except DeliveryError as exc:
        print(f"FAILED: {exc}")
        return 1
    print(f"sent to {', '.join(config.email.to)} via {transport_label(config)}")
    print(f"server answered: {answer}")
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
        result = await app.make_digest(by_hand=True, empty=args.empty)
        report = await app.delivery.flush()
    if isinstance(result, DigestSkipped):
        return _not_sent(result, display_zone(args, config))
    print(f"digest {result.subject!r}: {result.events} events, archived at {result.html_path}")
    if report.sent:
        print(f"delivered via {transport_label(config)}")
    else:
        print(f"not yet delivered ({'; '.join(report.errors) or 'queued'}); it stays in the "
              "outbox and is retried", file=sys.stderr)
        return 1
    return 0


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
