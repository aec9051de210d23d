"""Links into the review desk that travel in mails and webhooks: a story's page, and the
signed "Nicht relevant" link.

Owns the one form of those links. ``story_link`` is a plain address (it needs a login);
``verdict_link`` carries the article and topic signed with the desk's secret and the time
it was made (itsdangerous), so the desk can record that one verdict without a login for
``LINK_MAX_AGE`` (14 days). ``read_verdict_link`` checks a token at a given moment and
answers the article and topic, or why it refuses. Pure: the time is always passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

LINK_MAX_AGE = timedelta(days=14)
SALT = "news-monitor verdict link"
VERDICT_PATH = "/v/"


@dataclass(frozen=True, slots=True)
class VerdictLink:
    """What a valid signed link asks for: mark ``article_id`` not relevant for ``topic``."""

    article_id: int
    topic: str


@dataclass(frozen=True, slots=True)
class LinkRefused:
    """Why a token was refused: its time ran out, or it is not ours (changed, wrong secret)."""

    reason: Literal["expired", "invalid"]


def _serializer(secret: str, now: datetime) -> URLSafeTimedSerializer:
    stamp = int(now.timestamp())

    class _At(TimestampSigner):
        def get_timestamp(self) -> int:
            return stamp

    return URLSafeTimedSerializer(secret, salt=SALT, signer=_At)


def verdict_token(secret: str, article_id: int, topic: str, now: datetime) -> str:
    """The signed token of a "Nicht relevant" link made at ``now``."""
    return _serializer(secret, now).dumps({"a": article_id, "t": topic})


def verdict_link(base_url: str, secret: str, article_id: int, topic: str,
                 now: datetime) -> str:
    """The "Nicht relevant" link: a confirmation page, valid for ``LINK_MAX_AGE``."""
    return base_url.rstrip("/") + VERDICT_PATH + verdict_token(secret, article_id, topic, now)


def story_link(base_url: str, article_id: int) -> str:
    """The "Ansehen" link: the story's page on the desk."""
    return f"{base_url.rstrip('/')}/stories/{article_id}"


def read_verdict_link(secret: str, token: str, now: datetime) -> VerdictLink | LinkRefused:
    """The article and topic of ``token`` when it is ours and younger than 14 days."""
    try:
        data: Any = _serializer(secret, now).loads(
            token, max_age=int(LINK_MAX_AGE.total_seconds()))
    except SignatureExpired:
        return LinkRefused("expired")
    except BadSignature:
        return LinkRefused("invalid")
    if not (isinstance(data, dict) and isinstance(data.get("a"), int)
            and isinstance(data.get("t"), str)):
        return LinkRefused("invalid")
    return VerdictLink(data["a"], data["t"])
