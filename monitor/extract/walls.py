"""Recognising consent walls, cookie banners and paywall teasers in extracted text.

This module owns one decision: is the text trafilatura found the article, or the wall in
front of it? It looks for German and English consent and subscription phrases line by
line, measures how much of the text they make up, compares the text's length with the
feed's summary, and reads the page's own schema.org "not free" marker from the parsed
tree. The extract stage turns a verdict into a marked fallback page, so a wall's own
words never become an article's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from monitor.models import ExtractStatus

CONSENT_PHRASES = (
    "zustimmung", "cookies", "cookie-einstellungen", "datenschutzeinstellungen",
    "werbung und tracking", "pur-abo", "akzeptieren und weiter", "alle akzeptieren",
    "einwilligung", "berechtigtes interesse", "personalisierte werbung",
    "we use cookies", "cookie settings", "accept all", "accept and continue",
    "manage preferences", "privacy settings", "your consent", "legitimate interest",
    "personalised ads", "personalized ads",
)
PAYWALL_PHRASES = (
    "jetzt abonnieren", "weiterlesen mit", "lesen sie jetzt weiter", "jetzt weiterlesen",
    "artikel freischalten", "sie haben bereits ein abo", "abo abschließen",
    "exklusiv für abonnenten", "nur für abonnenten", "plus-artikel", "jetzt testen",
    "subscribe to continue", "subscribe to read", "continue reading with",
    "already a subscriber", "subscribe now", "this article is for subscribers",
)
NOT_FREE = re.compile(r'"isAccessibleForFree"\s*:\s*"?false', re.I)
WALL_SHARE = 0.3        # a wall when its lines make up this share of the text ...
WALL_MAX_CHARS = 3000   # ... and the text is no longer than a wall usually is
SHORT_RATIO = 0.5       # text shorter than half the feed summary is not the article
MARKED_SHORT_CHARS = 1200  # schema.org says "not free" and the text is teaser-sized


@dataclass(frozen=True, slots=True)
class Wall:
    """The verdict: which wall, and a short reason for the page's ``detail``."""

    status: ExtractStatus
    detail: str


@dataclass(frozen=True, slots=True)
class PhraseScore:
    """How much of a text is made of one kind of wall phrases."""

    hits: int          # distinct phrases found
    share: float       # share of the text's characters on lines with a phrase

    @property
    def dominant(self) -> bool:
        return self.hits >= 2 and self.share >= WALL_SHARE


def score(text: str, phrases: tuple[str, ...]) -> PhraseScore:
    """Count distinct ``phrases`` in ``text`` and the share of its lines that carry one."""
    lowered = text.lower()
    found = {p for p in phrases if p in lowered}
    if not found:
        return PhraseScore(0, 0.0)
    lines = [line for line in lowered.splitlines() if line.strip()]
    total = sum(len(line) for line in lines) or 1
    walled = sum(len(line) for line in lines if any(p in line for p in found))
    return PhraseScore(len(found), walled / total)


def classify_text(text: str) -> Wall | None:
    """A wall when consent or subscription phrases dominate a wall-sized text."""
    if len(text) > WALL_MAX_CHARS:
        return None
    consent, paywall = score(text, CONSENT_PHRASES), score(text, PAYWALL_PHRASES)
    if consent.dominant and consent.share >= paywall.share:
        return Wall("consent_wall", f"consent phrases={consent.hits} share={consent.share:.2f}")
    if paywall.dominant:
        return Wall("paywall", f"subscription phrases={paywall.hits} share={paywall.share:.2f}")
    return None


def classify_short(page_text: str, chars: int, summary_chars: int) -> Wall:
    """Name the wall behind a text much shorter than the summary, from the whole page.

    Without any wall phrase on the page the verdict is ``failed``: the article's text
    is not in the HTML (a script renders it, or the page is not an article).
    """
    consent, paywall = score(page_text, CONSENT_PHRASES), score(page_text, PAYWALL_PHRASES)
    reason = f"text chars={chars} shorter than summary chars={summary_chars}"
    if paywall.hits and paywall.hits >= consent.hits:
        return Wall("paywall", f"{reason}; subscription phrases={paywall.hits}")
    if consent.hits:
        return Wall("consent_wall", f"{reason}; consent phrases={consent.hits}")
    return Wall("failed", f"{reason}; no wall phrases")


def marked_not_free(tree: Any) -> bool:
    """The page's schema.org markup says the article is not free to read."""
    scripts = tree.xpath('//script[@type="application/ld+json"]/text()')
    return any(NOT_FREE.search(str(s)) for s in scripts)


def visible_text(tree: Any) -> str:
    """The whole page's text without scripts and styles, one block per line."""
    parts = tree.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]")
    return "\n".join(p.strip() for p in map(str, parts) if p.strip())


def detect_wall(text: str, *, summary: str, tree: Any) -> Wall | None:
    """Decide whether ``text``, extracted from the lxml ``tree``, is a wall, not the article.

    The whole page's visible text is read only when the extracted text is too short to
    judge by itself.
    """
    text = text.strip()
    wall = classify_text(text)
    if wall is not None:
        return wall
    if marked_not_free(tree) and len(text) <= MARKED_SHORT_CHARS:
        return Wall("paywall", f"marked not free, text chars={len(text)}")
    if not text or len(text) < SHORT_RATIO * len(summary.strip()):
        return classify_short(visible_text(tree), len(text), len(summary.strip()))
    return None
