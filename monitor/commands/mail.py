"""Mail commands: ``outbox`` (what waits, what was sent, what died), ``test-email`` and
``digest`` (preview, plain text, or send now)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from monitor.app import open_app, open_store_for, utcnow
from monitor.commands import command
from monitor.config import Config
from monitor.delivery import make_mailer, mail_settings, maildir_path, smtp_settings, \
    transport_label
from monitor.digests import render_digest, send_digest
from monitor.errors import DeliveryError
from monitor.notify.compose import compose_test
from monitor.notify.digest import render_digest_text
from monitor.notify.mailer import diagnose


def _outbox_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--retry-dead", action="store_true",
                        help="requeue every dead mail for another try")


@command("outbox", "list pending, sent and dead mail; --retry-dead requeues",
         configure=_outbox_arguments)
def outbox(args: argparse.Namespace, config: Config) -> int:
    store = open_store_for(config)
    try:
        if args.retry_dead:
            print(f"requeued {store.retry_dead(at=utcnow())} dead mails")
            return 0
        items = store.outbox()
    finally:
        store.close()
    if args.json:
        print(json.dumps([{"id": i.id, "status": i.status, "kind": i.kind, "subject": i.subject,
                           "recipients": list(i.recipients), "attempts": i.attempts,
                           "last_error": i.last_error, "created_at": i.created_at.isoformat(),
                           "sent_at": i.sent_at.isoformat() if i.sent_at else None}
                          for i in items], ensure_ascii=False, indent=2))
        return 0
    for item in items:
        error = f"  last error: {item.last_error}" if item.last_error else ""
        print(f"{item.status:<8} {item.created_at.astimezone():%Y-%m-%d %H:%M} "
              f"attempts={item.attempts} {item.subject}{error}")
    counts = {s: sum(i.status == s for i in items) for s in ("pending", "sent", "dead")}
    print(f"{counts['pending']} pending, {counts['sent']} sent, {counts['dead']} dead")
    return 0


@command("test-email", "send a test mail through the configured transport and report")
def test_email(args: argparse.Namespace, config: Config) -> int:
    ok, explanation = asyncio.run(diagnose(smtp_settings(config), maildir_path(config)))
    if not ok:
        print(f"FAILED: {explanation}")
        return 1
    mail = compose_test(mail_settings(config), now=utcnow(), message_id=f"<test.{utcnow():%s}"
                        "@news-monitor>", transport_label=transport_label(config))
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
    group.add_argument("--send", action="store_true", help="build, queue and send it now")


@command("digest", "preview, print or send the digest of everything since the last one",
         configure=_digest_arguments)
def digest(args: argparse.Namespace, config: Config) -> int:
    return asyncio.run(_digest(args, config))


async def _digest(args: argparse.Namespace, config: Config) -> int:
    async with open_app(config) as app:
        if args.preview or args.text:
            data, ids, _, html = render_digest(app, app.clock())
            if args.text:
                print(render_digest_text(data))
            else:
                Path(args.preview).write_text(html, encoding="utf-8")
                print(f"wrote {args.preview} ({len(ids)} events)")
            return 0
        result = await send_digest(app, force=True)
        report = await app.delivery.flush()
    assert result is not None
    print(f"digest {result.subject!r}: {result.events} events, archived at {result.html_path}")
    if report.sent:
        print(f"delivered via {transport_label(config)}")
    else:
        print(f"not yet delivered ({'; '.join(report.errors) or 'queued'}); it stays in the "
              "outbox and is retried", file=sys.stderr)
        return 1
    return 0
