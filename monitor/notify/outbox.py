"""The outbox flush: render what waits unrendered, hand pending messages to their route's
channel (any object with ``send``: a mailer, or the delivery's dispatch by route), record
each outcome, back off on failure.

The store is reached only through the small ``OutboxStore`` protocol (claim, mark rendered,
sent or failed), so this module never imports the store. An alert is queued with its event
and no bytes; the first time it is claimed, the caller's ``render`` builds the mail from the
event's delta (handed out with the claimed item, so its cluster is current), the bytes are
stored on the row, then sent; every retry resends those same bytes. A mail that cannot be
built is dead with the reason, and its event stays. A mail is marked sent only after the
server accepted it; a transient failure is retried with capped exponential backoff and
jitter (``monitor.backoff``); a permanent failure, or too many attempts, makes it dead so it
never blocks the queue; one mail's failure never stops the others. Mails are claimed one at
a time, each under a short lease renewed while it is rendered and sent (``monitor.leasing``),
so a second process never sends a mail this one is still sending, and a mail left leased by
a killed process is free again once its lease ends (tens of seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from monitor import backoff
from monitor.errors import PermanentDeliveryError, StoreError, TransientDeliveryError
from monitor.leasing import LeaseKeeper
from monitor.models import Delta, OutboxItem, OutgoingMail
from monitor.notify.mailer import Mailer

log = logging.getLogger(__name__)

# Builds an alert from its delta, with the key it was queued under, at a time, for a route.
RenderAlert = Callable[[Delta, str, datetime, str], OutgoingMail]


class OutboxStore(Protocol):
    def claim_pending(self, now: datetime, *, limit: int = 20) -> Sequence[OutboxItem]: ...

    def mark_rendered(self, item_id: int, *, subject: str, recipients: Sequence[str],
                      raw: bytes) -> None: ...

    def mark_sent(self, item_id: int, *, at: datetime, response: str) -> None: ...

    def mark_failed(self, item_id: int, *, at: datetime, error: str,
                    next_attempt_at: datetime | None, dead: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class FlushReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Policy:
    base_delay: float
    max_delay: float
    max_attempts: int
    rng: random.Random
    render: RenderAlert


async def flush_outbox(store: OutboxStore, mailer: Mailer, *, clock: Callable[[], datetime],
                       render: RenderAlert, limit: int = 50,
                       base_delay: float = 60, max_delay: float = 6 * 3600,
                       max_attempts: int = 20, rng: random.Random | None = None,
                       keeper: LeaseKeeper | None = None) -> FlushReport:
    """Try each due mail once (at most ``limit``), its lease renewed by ``keeper`` while it
    is sent; returns what happened."""
    policy = _Policy(base_delay, max_delay, max_attempts, rng or random.Random(), render)
    outcomes: list[tuple[str, str]] = []
    tried: set[int] = set()
    while len(outcomes) < limit:
        claimed = await asyncio.to_thread(store.claim_pending, clock(), limit=1)
        if not claimed or claimed[0].id in tried:
            break
        tried.add(claimed[0].id)
        with keeper.holding("outbox", [claimed[0].id]) if keeper else contextlib.nullcontext():
            outcomes.append(await _deliver_recorded(store, mailer, claimed[0], clock, policy))
    errors = tuple(error for _, error in outcomes if error)
    return FlushReport(sent=sum(o == "sent" for o, _ in outcomes),
                       failed=sum(o == "failed" for o, _ in outcomes),
                       dead=sum(o == "dead" for o, _ in outcomes), errors=errors)


async def _deliver_recorded(store: OutboxStore, mailer: Mailer, item: OutboxItem,
                            clock: Callable[[], datetime], policy: _Policy) -> tuple[str, str]:
    """Deliver one item; a store failure while recording it is reported, not raised."""
    try:
        return await _deliver(store, mailer, item, clock, policy)
    except StoreError as exc:
        log.error("outbox_record_failed message_id=%s error=%s", item.message_id, exc)
        return "error", f"{item.message_id}: cannot record outcome: {exc}"


async def _deliver(store: OutboxStore, mailer: Mailer, item: OutboxItem,
                   clock: Callable[[], datetime], policy: _Policy) -> tuple[str, str]:
    """Render (once), send and record one item. Rendering and every store call run in a
    thread: the event loop never waits for a template or for SQLite's write lock."""
    if not item.raw:
        prepared = await asyncio.to_thread(_prepared, store, item, clock(), policy.render)
        if isinstance(prepared, tuple):
            return prepared
        item = prepared
    try:
        reply = await mailer.send(_mail(item))
    except Exception as exc:
        return await asyncio.to_thread(_unsent, store, item, clock(), exc, policy)
    await asyncio.to_thread(store.mark_sent, item.id, at=clock(), response=reply)
    log.info("outbox_sent message_id=%s attempts=%d", item.message_id, item.attempts + 1)
    return "sent", ""


def _prepared(store: OutboxStore, item: OutboxItem, now: datetime,
              render: RenderAlert) -> OutboxItem | tuple[str, str]:
    """The item rendered (``_render``), or its recorded dead letter when it cannot be built."""
    rendered = _render(store, item, now, render) if item.event_id is not None \
        else item.last_error or "the mail could not be built"
    return _fail(store, item, now, rendered) if isinstance(rendered, str) else rendered


def _unsent(store: OutboxStore, item: OutboxItem, now: datetime, exc: Exception,
            policy: _Policy) -> tuple[str, str]:
    """Record a failed send: dead when the receiver refused for good, retried later when it
    may work then, and retried as well when the mailer itself failed (a bug must not stop
    the other mails)."""
    if isinstance(exc, PermanentDeliveryError):
        return _fail(store, item, now, str(exc))
    if isinstance(exc, TransientDeliveryError):
        return _retry(store, item, now, str(exc), policy)
    log.error("outbox_unexpected message_id=%s", item.message_id, exc_info=exc)
    return _retry(store, item, now, f"unexpected {type(exc).__name__}: {exc}", policy)


def _render(store: OutboxStore, item: OutboxItem, now: datetime,
            render: RenderAlert) -> OutboxItem | str:
    """The item with its alert rendered from its event and stored; the reason if it cannot
    be built."""
    if item.delta is None:
        return "cannot build the mail: its event is no longer stored"
    try:
        mail = render(item.delta, item.message_id, now, item.route)
    except Exception as exc:
        log.exception("mail_unbuildable message_id=%s", item.message_id)
        return f"cannot build the mail: {type(exc).__name__}: {exc}"
    store.mark_rendered(item.id, subject=mail.subject, recipients=mail.recipients, raw=mail.raw)
    return dataclasses.replace(item, subject=mail.subject, recipients=mail.recipients,
                               raw=mail.raw)


def _retry(store: OutboxStore, item: OutboxItem, now: datetime, error: str,
           policy: _Policy) -> tuple[str, str]:
    attempt = item.attempts + 1
    if attempt >= policy.max_attempts:
        return _fail(store, item, now, f"gave up after {attempt} attempts: {error}")
    wait = backoff.delay(attempt, base=policy.base_delay, cap=policy.max_delay, rng=policy.rng)
    store.mark_failed(item.id, at=now, error=error, dead=False,
                      next_attempt_at=now + timedelta(seconds=wait))
    log.warning("outbox_retry message_id=%s attempt=%d wait_s=%.0f error=%s",
                item.message_id, attempt, wait, error)
    return "failed", f"{item.message_id}: {error}"


def _fail(store: OutboxStore, item: OutboxItem, now: datetime, error: str) -> tuple[str, str]:
    store.mark_failed(item.id, at=now, error=error, next_attempt_at=None, dead=True)
    log.error("outbox_dead message_id=%s attempts=%d error=%s", item.message_id,
              item.attempts + 1, error)
    return "dead", f"{item.message_id}: {error}"


def _mail(item: OutboxItem) -> OutgoingMail:
    kind = item.kind if item.kind in ("alert", "summary", "digest", "test") else "alert"
    channel = item.channel if item.channel in ("email", "webhook", "apprise") else "email"
    return OutgoingMail(message_id=item.message_id, kind=kind,  # type: ignore[arg-type]
                        recipients=item.recipients, subject=item.subject, raw=item.raw,
                        route=item.route, channel=channel)  # type: ignore[arg-type]
