"""The outbox flush: hand pending mails to a mailer, record each outcome, back off on failure.

The store is reached only through the small ``OutboxStore`` protocol (claim, mark sent, mark
failed), so this module never imports the store. A mail is marked sent only after the server
accepted it; a transient failure is retried with capped exponential backoff and jitter; a
permanent failure, or too many attempts, makes it dead so it never blocks the queue; one
mail's failure never stops the others. Mails are claimed one at a time, each under a lease
long enough for one SMTP session, so a second process never sends a mail this one is
still sending, and a mail left leased by a killed process is free again once its lease ends.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from monitor.errors import PermanentDeliveryError, StoreError, TransientDeliveryError
from monitor.models import OutboxItem, OutgoingMail
from monitor.notify.mailer import Mailer

log = logging.getLogger(__name__)


class OutboxStore(Protocol):
    def claim_pending(self, now: datetime, *, limit: int = 20,
                      lease_seconds: float = 120) -> Sequence[OutboxItem]: ...

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
class Backoff:
    base_delay: float
    max_delay: float
    max_attempts: int

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds before attempt ``attempt + 1``: exponential, capped, jittered (50–100 %)."""
        capped = min(self.max_delay, self.base_delay * 2 ** min(attempt - 1, 30))
        return capped * (0.5 + rng.random() / 2)


async def flush_outbox(store: OutboxStore, mailer: Mailer, *, clock: Callable[[], datetime],
                       limit: int = 50, base_delay: float = 60, max_delay: float = 6 * 3600,
                       max_attempts: int = 20, rng: random.Random | None = None,
                       lease_seconds: float = 300) -> FlushReport:
    """Try each due mail once (at most ``limit``); returns what happened."""
    policy = Backoff(base_delay, max_delay, max_attempts)
    chance = rng or random.Random()
    outcomes: list[tuple[str, str]] = []
    tried: set[int] = set()
    while len(outcomes) < limit:
        claimed = store.claim_pending(clock(), limit=1, lease_seconds=lease_seconds)
        if not claimed or claimed[0].id in tried:
            break
        tried.add(claimed[0].id)
        outcomes.append(await _deliver_recorded(store, mailer, claimed[0], clock, policy, chance))
    errors = tuple(error for _, error in outcomes if error)
    return FlushReport(sent=sum(o == "sent" for o, _ in outcomes),
                       failed=sum(o == "failed" for o, _ in outcomes),
                       dead=sum(o == "dead" for o, _ in outcomes), errors=errors)


async def _deliver_recorded(store: OutboxStore, mailer: Mailer, item: OutboxItem,
                            clock: Callable[[], datetime], policy: Backoff,
                            rng: random.Random) -> tuple[str, str]:
    """Deliver one item; a store failure while recording it is reported, not raised."""
    try:
        return await _deliver(store, mailer, item, clock, policy, rng)
    except StoreError as exc:
        log.error("outbox_record_failed message_id=%s error=%s", item.message_id, exc)
        return "error", f"{item.message_id}: cannot record outcome: {exc}"


async def _deliver(store: OutboxStore, mailer: Mailer, item: OutboxItem,
                   clock: Callable[[], datetime], policy: Backoff,
                   rng: random.Random) -> tuple[str, str]:
    if not item.raw:
        return _fail(store, item, clock(), item.last_error or "the mail could not be built")
    try:
        reply = await mailer.send(_mail(item))
    except PermanentDeliveryError as exc:
        return _fail(store, item, clock(), str(exc))
    except TransientDeliveryError as exc:
        return _retry(store, item, clock(), str(exc), policy, rng)
    except Exception as exc:  # a mailer bug must not stop the other mails
        log.exception("outbox_unexpected message_id=%s", item.message_id)
        return _retry(store, item, clock(), f"unexpected {type(exc).__name__}: {exc}", policy, rng)
    store.mark_sent(item.id, at=clock(), response=reply)
    log.info("outbox_sent message_id=%s attempts=%d", item.message_id, item.attempts + 1)
    return "sent", ""


def _retry(store: OutboxStore, item: OutboxItem, now: datetime, error: str,
           policy: Backoff, rng: random.Random) -> tuple[str, str]:
    attempt = item.attempts + 1
    if attempt >= policy.max_attempts:
        return _fail(store, item, now, f"gave up after {attempt} attempts: {error}")
    wait = policy.delay(attempt, rng)
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
    return OutgoingMail(message_id=item.message_id, kind=kind,  # type: ignore[arg-type]
                        recipients=item.recipients, subject=item.subject, raw=item.raw)
